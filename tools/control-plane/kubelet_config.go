package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	kubeletvalidation "k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"
)

// checkKubeletConfig loads a KubeletConfiguration file with the kubelet's own loader (decoding,
// defaulting) and validator, as the kubelet of this release does at start, and prints the
// settings the memory budget depends on as JSON. Exit status 1 with the kubelet's error when
// the file would stop the kubelet.
func checkKubeletConfig(file string) int {
	loader, err := configfiles.NewFsLoader(&utilfs.DefaultFs{}, file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kc, err := loader.Load(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := kubeletvalidation.ValidateKubeletConfiguration(kc, utilfeature.DefaultFeatureGate); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := json.Marshal(map[string]any{
		"systemReserved":         kc.SystemReserved,
		"kubeReserved":           kc.KubeReserved,
		"evictionHard":           kc.EvictionHard,
		"failSwapOn":             kc.FailSwapOn,
		"swapBehavior":           kc.MemorySwap.SwapBehavior,
		"enforceNodeAllocatable": kc.EnforceNodeAllocatable,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(string(out))
	return 0
}
