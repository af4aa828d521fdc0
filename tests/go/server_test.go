// Starts a real tern-server for the nats.go tests: random port (from its ports file),
// JetStream on a fresh store, plus TERN_TEST_ARGS (e.g. "--shards 4").
package gotests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type server struct {
	cmd        *exec.Cmd
	dir        string
	URL        string
	ClusterURL string // nats://host:port of the route listener (cluster nodes only)
}

func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return startProcess(t, false, append([]string{"-js", "-sd", filepath.Join(t.TempDir(), "store")},
		extra...)...)
}

// startClusterNode starts a node of cluster C1 (without JetStream: not served in a cluster
// yet) listening for routes on a random port, with routes to the given URLs.
func startClusterNode(t *testing.T, name string, routes ...string) *server {
	t.Helper()
	args := []string{"-a", "127.0.0.1", "-n", name, "--cluster", "nats://127.0.0.1:-1",
		"--cluster_name", "C1"}
	if len(routes) > 0 {
		args = append(args, "--routes", strings.Join(routes, ","))
	}
	return startProcess(t, true, args...)
}

func startProcess(t *testing.T, cluster bool, extra ...string) *server {
	t.Helper()
	// TERN_SERVER_UNDER_TEST (CI: a sanitizer build's server) wins over the build's own.
	binary := os.Getenv("TERN_SERVER_UNDER_TEST")
	if binary == "" {
		binary = os.Getenv("TERN_SERVER_PATH")
	}
	if binary == "" {
		binary = "../../build/release/tools/tern-server"
	}
	return startBinary(t, binary, cluster, append(strings.Fields(os.Getenv("TERN_TEST_ARGS")),
		extra...)...)
}

// startNatsServer starts Debian's nats-server with these arguments, or skips the test
// when it is not installed.
func startNatsServer(t *testing.T, cluster bool, extra ...string) *server {
	t.Helper()
	binary, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed")
	}
	return startBinary(t, binary, cluster, extra...)
}

func startBinary(t *testing.T, binary string, cluster bool, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-p", "-1", "--ports_file_dir", dir, "-l", filepath.Join(dir, "server.log")}
	args = append(args, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", binary, err)
	}
	s := &server{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	portsFile := filepath.Join(dir, filepath.Base(binary)+"_"+itoa(cmd.Process.Pid)+".ports")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(portsFile); err == nil {
			var ports struct{ Nats, Cluster []string }
			if json.Unmarshal(data, &ports) == nil && len(ports.Nats) > 0 &&
				(!cluster || len(ports.Cluster) > 0) {
				s.URL = ports.Nats[0]
				if cluster {
					s.ClusterURL = ports.Cluster[0]
				}
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not write %s", filepath.Base(binary), portsFile)
	return nil
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
