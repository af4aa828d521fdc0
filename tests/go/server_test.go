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
	cmd *exec.Cmd
	dir string
	URL string
}

func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	binary := os.Getenv("TERN_SERVER_PATH")
	if binary == "" {
		binary = "../../build/release/tools/tern-server"
	}
	dir := t.TempDir()
	args := []string{"-p", "-1", "--ports_file_dir", dir, "-l", filepath.Join(dir, "server.log"),
		"-js", "-sd", filepath.Join(dir, "store")}
	args = append(args, strings.Fields(os.Getenv("TERN_TEST_ARGS"))...)
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
			var ports struct{ Nats []string }
			if json.Unmarshal(data, &ports) == nil && len(ports.Nats) > 0 {
				s.URL = ports.Nats[0]
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("tern-server did not write %s", portsFile)
	return nil
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
