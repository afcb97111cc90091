// Command kube-apiserver runs an embedded etcd plus a real kube-apiserver in one
// process on 127.0.0.1, for server-side validation of manifests in tests.
// It prints "READY https://127.0.0.1:PORT" on stdout once /readyz is ok and,
// with --kubeconfig-out, writes an admin kubeconfig first.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	fs := flag.NewFlagSet("kube-apiserver", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "directory for etcd data, certs, keys and token file (default: a new temp dir, removed on exit)")
	port := fs.Int("secure-port", 0, "HTTPS port on 127.0.0.1 (0 = pick a free port)")
	kubeconfigOut := fs.String("kubeconfig-out", "", "write an admin kubeconfig here once ready")
	token := fs.String("token", "", "admin bearer token (group system:masters); default: random")
	disable := fs.String("disable-admission-plugins", "ServiceAccount", "passed to kube-apiserver (no controller-manager creates 'default' ServiceAccounts here)")
	timeout := fs.Duration("ready-timeout", 3*time.Minute, "give up if /readyz is not ok by then")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags] [-- extra kube-apiserver flags]\n", os.Args[0])
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])

	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "kube-apiserver-")
		check(err)
		dir = d
		defer os.RemoveAll(dir)
	}
	check(os.MkdirAll(dir, 0o700))
	if *token == "" {
		*token = randHex(16)
	}
	if *port == 0 {
		*port = freePort()
	}

	etcd := startEtcd(filepath.Join(dir, "etcd"))
	defer etcd.Close()

	saKey := filepath.Join(dir, "sa.key")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	writePEM(saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	tokenFile := filepath.Join(dir, "tokens.csv")
	check(os.WriteFile(tokenFile, []byte(*token+`,admin,admin,"system:masters"`+"\n"), 0o600))
	certDir := filepath.Join(dir, "certs")

	args := []string{
		"--etcd-servers=http://" + etcd.Clients[0].Addr().String(),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(*port),
		"--cert-dir=" + certDir,
		"--service-cluster-ip-range=10.43.0.0/16",
		"--allow-privileged=true",
		"--authorization-mode=RBAC",
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--disable-admission-plugins=" + *disable,
		"--endpoint-reconciler-type=none", // a loopback address is not a valid Endpoints IP
	}
	args = append(args, fs.Args()...)

	server := fmt.Sprintf("https://127.0.0.1:%d", *port)
	go waitReady(server, *token, certDir, *kubeconfigOut, *timeout)

	cmd := app.NewAPIServerCommand() // installs the SIGTERM/SIGINT handler
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		etcd.Close()
		os.RemoveAll(dir)
		os.Exit(1)
	}
}

func startEtcd(dir string) *embed.Etcd {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "fatal" // start errors come back as err; "error" logs noise on Close
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort())}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort())}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	check(err)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		check(err)
	case <-time.After(time.Minute):
		check(fmt.Errorf("etcd not ready after 1m"))
	}
	return e
}

// waitReady polls /readyz, then writes the kubeconfig and prints READY.
func waitReady(server, token, certDir, out string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "kube-apiserver: %s/readyz not ok after %s\n", server, timeout)
			os.Exit(1)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if out != "" {
		// The self-signed bundle (serving cert + its CA) has SAN 127.0.0.1.
		ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
		check(err)
		writeKubeconfig(out, server, token, ca)
	}
	fmt.Println("READY " + server)
}

func writeKubeconfig(path, server, token string, ca []byte) {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`, server, base64.StdEncoding.EncodeToString(ca), token)
	tmp := path + ".tmp"
	check(os.WriteFile(tmp, []byte(cfg), 0o600))
	check(os.Rename(tmp, path))
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writePEM(path, typ string, der []byte) {
	check(os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-apiserver:", err)
		os.Exit(1)
	}
}
