// Command control-plane runs an embedded etcd and the real kube-apiserver in one process on
// 127.0.0.1 and, with --controllers, the real kube-controller-manager and kube-scheduler of
// the same Kubernetes release beside them (one process, as k3s runs its control plane).
// It prints "READY https://127.0.0.1:PORT" on stdout once everything it started is serving
// and, with --kubeconfig-out, writes an admin kubeconfig first.
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
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apimachinery/pkg/util/version"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	clientgofeatures "k8s.io/client-go/features"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// argList collects a repeatable string flag.
type argList []string

func (a *argList) String() string     { return strings.Join(*a, " ") }
func (a *argList) Set(v string) error { *a = append(*a, v); return nil }

// cleanup runs once, on a normal exit and before a fatal one: etcd stops, a temp dir goes.
var (
	cleanupOnce sync.Once
	cleanupFunc = func() {}
)

func cleanup() { cleanupOnce.Do(func() { cleanupFunc() }) }

func main() {
	// The three components each apply the (identical) logging configuration; by default the
	// second application is an error.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
	if len(os.Args) == 3 && os.Args[1] == "check-kubelet-config" {
		os.Exit(checkKubeletConfig(os.Args[2]))
	}

	fs := flag.NewFlagSet("control-plane", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "directory for etcd data, certs, keys, token file and component kubeconfigs (default: a new temp dir, removed on exit)")
	port := fs.Int("secure-port", 0, "kube-apiserver HTTPS port on 127.0.0.1 (0 = pick a free port)")
	kubeconfigOut := fs.String("kubeconfig-out", "", "write an admin kubeconfig here once ready")
	token := fs.String("token", "", "admin bearer token (group system:masters); default: random")
	withControllers := fs.Bool("controllers", false, "also run kube-controller-manager and kube-scheduler in this process")
	disable := fs.String("disable-admission-plugins", "", "passed to kube-apiserver (default: ServiceAccount without --controllers, since then nothing creates the 'default' ServiceAccounts; none with --controllers)")
	timeout := fs.Duration("ready-timeout", 3*time.Minute, "give up if the control plane is not ready by then")
	var controllerManagerArgs, schedulerArgs argList
	fs.Var(&controllerManagerArgs, "kube-controller-manager-arg", "extra kube-controller-manager flag, e.g. --kube-controller-manager-arg=--v=2 (repeatable; with --controllers)")
	fs.Var(&schedulerArgs, "kube-scheduler-arg", "extra kube-scheduler flag (repeatable; with --controllers)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags] [-- extra kube-apiserver flags]\n", os.Args[0])
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	disableSet := false
	fs.Visit(func(f *flag.Flag) { disableSet = disableSet || f.Name == "disable-admission-plugins" })
	if !disableSet && !*withControllers {
		*disable = "ServiceAccount"
	}
	if *withControllers {
		// kube-controller-manager turns this client-go gate on for itself while it builds its
		// flags, which the process-wide gate refuses once the apiserver has added its flags.
		// Turned on up front instead: in one process it then holds for all three components,
		// and the 1.34 apiserver serves watch-lists (WatchList is on by default).
		check(utilfeature.DefaultMutableFeatureGate.OverrideDefaultAtVersion(featuregate.Feature(clientgofeatures.WatchListClient), true, version.MustParse("1.34")))
	}

	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "control-plane-")
		check(err)
		dir = d
		cleanupFunc = func() { os.RemoveAll(d) }
	}
	check(os.MkdirAll(dir, 0o700))
	if *token == "" {
		*token = randHex(16)
	}
	if *port == 0 {
		*port = freePort()
	}

	etcd := startEtcd(filepath.Join(dir, "etcd"))
	removeDir := cleanupFunc
	cleanupFunc = func() { etcd.Close(); removeDir() }
	defer cleanup()

	saKey := filepath.Join(dir, "sa.key")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	writePEM(saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	// The controller-manager and the scheduler authenticate as the users the bootstrap RBAC
	// policy binds (system:kube-controller-manager, system:kube-scheduler), as on a real cluster.
	controllerManagerToken, schedulerToken := randHex(16), randHex(16)
	tokenFile := filepath.Join(dir, "tokens.csv")
	check(os.WriteFile(tokenFile, []byte(strings.Join([]string{
		*token + `,admin,admin,"system:masters"`,
		controllerManagerToken + ",system:kube-controller-manager,system:kube-controller-manager",
		schedulerToken + ",system:kube-scheduler,system:kube-scheduler",
	}, "\n")+"\n"), 0o600))
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
	cmd := apiserver.NewAPIServerCommand() // installs the SIGTERM/SIGINT handler
	stop := cmd.Context()                  // cancelled by that handler

	go func() {
		deadline := time.Now().Add(*timeout)
		waitFor(server, *token, "/readyz", deadline, "kube-apiserver /readyz not ok")
		// The self-signed bundle (serving cert + its CA) has SAN 127.0.0.1.
		ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
		check(err)
		if *withControllers {
			startControllers(stop, dir, server, ca, saKey, controllerManagerToken, schedulerToken, controllerManagerArgs, schedulerArgs)
			// The serviceaccount controller creates this one first thing: the controllers are running.
			waitFor(server, *token, "/api/v1/namespaces/default/serviceaccounts/default", deadline, "kube-controller-manager created no 'default' ServiceAccount")
		}
		if *kubeconfigOut != "" {
			writeKubeconfig(*kubeconfigOut, server, *token, ca)
		}
		fmt.Println("READY " + server)
	}()

	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fatal("kube-apiserver: %v", err)
	}
}

// startControllers runs kube-controller-manager and kube-scheduler in goroutines, each with its
// own kubeconfig and identity. Neither serves HTTPS (--secure-port=0: nothing to collide with
// other instances on this machine), neither elects a leader (one instance).
func startControllers(stop context.Context, dir, server string, ca []byte, saKey, controllerManagerToken, schedulerToken string, controllerManagerArgs, schedulerArgs []string) {
	controllerManagerKubeconfig := filepath.Join(dir, "controller-manager.kubeconfig")
	schedulerKubeconfig := filepath.Join(dir, "scheduler.kubeconfig")
	writeKubeconfig(controllerManagerKubeconfig, server, controllerManagerToken, ca)
	writeKubeconfig(schedulerKubeconfig, server, schedulerToken, ca)
	caFile := filepath.Join(dir, "certs", "apiserver.crt")

	go func() {
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(append([]string{
			"--kubeconfig=" + controllerManagerKubeconfig,
			"--leader-elect=false",
			"--secure-port=0",
			"--service-account-private-key-file=" + saKey,
			"--root-ca-file=" + caFile,
			// Each controller acts as its own ServiceAccount, so RBAC applies to it as on k3s.
			"--use-service-account-credentials=true",
		}, controllerManagerArgs...))
		// Run only returns on a start-up error; it otherwise lives until the process ends.
		if err := cmd.Execute(); err != nil && stop.Err() == nil {
			fatal("kube-controller-manager: %v", err)
		}
	}()

	go func() {
		// Not the cobra command: it would install a second signal handler, which panics.
		opts := scheduleroptions.NewOptions()
		flags := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
		for _, name := range opts.Flags.Order {
			flags.AddFlagSet(opts.Flags.FlagSets[name])
		}
		err := flags.Parse(append([]string{
			"--kubeconfig=" + schedulerKubeconfig,
			"--leader-elect=false",
			"--secure-port=0",
		}, schedulerArgs...))
		if err == nil {
			err = opts.ComponentGlobalsRegistry.Set()
		}
		if err == nil {
			cc, sched, setupErr := scheduler.Setup(stop, opts)
			if err = setupErr; err == nil {
				err = scheduler.Run(stop, cc, sched) // returns when stop is cancelled
			}
		}
		if err != nil && stop.Err() == nil {
			fatal("kube-scheduler: %v", err)
		}
	}()
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
		check(errors.New("etcd not ready after 1m"))
	}
	return e
}

// waitFor polls an API path with the admin token until it answers 200, or exits at the deadline.
func waitFor(server, token, path string, deadline time.Time, failure string) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			fatal("control-plane: %s (%s) by the ready timeout", failure, server+path)
		case <-time.After(200 * time.Millisecond):
		}
	}
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

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	cleanup()
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fatal("control-plane: %v", err)
	}
}
