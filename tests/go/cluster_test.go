// Clusters through nats.go: the discovered-servers callback and DiscoveredServers() as
// nodes join, ConnectedClusterName(), failover to another node when one is killed, and the
// JetStream of nats-server nodes used through a Tern node.
package gotests

import (
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestClusterDiscoveryNameAndFailover(t *testing.T) {
	a := startClusterNode(t, "A")
	discovered := make(chan struct{}, 1)
	nc, err := nats.Connect(a.URL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.DiscoveredServersHandler(func(*nats.Conn) {
			select {
			case discovered <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if name := nc.ConnectedClusterName(); name != "C1" {
		t.Fatalf("ConnectedClusterName() = %q, want C1", name)
	}

	b := startClusterNode(t, "B", a.ClusterURL)
	select {
	case <-discovered:
	case <-time.After(10 * time.Second):
		t.Fatal("the discovered-servers callback never ran after B joined")
	}
	want := b.URL
	found := false
	for _, url := range nc.DiscoveredServers() {
		found = found || url == want
	}
	if !found {
		t.Fatalf("DiscoveredServers() = %v, want %s in it", nc.DiscoveredServers(), want)
	}

	// The client's node dies: it moves to B by itself and its subscription works there.
	sub, err := nc.SubscribeSync("after.failover")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Kill()
	a.cmd.Wait()
	onB, err := nats.Connect(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer onB.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		onB.Publish("after.failover", []byte("x"))
		onB.Flush()
		if _, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			if nc.ConnectedUrl() != b.URL {
				t.Fatalf("connected to %s, want %s", nc.ConnectedUrl(), b.URL)
			}
			return
		}
	}
	t.Fatal("the client did not resume on B")
}

// A Tern node's nats.go client uses the JetStream of the cluster's nats-server nodes: a
// replicated key-value bucket created, written, watched and read through the Tern node, and
// seen the same from a nats-server node.
func TestClusterKeyValueOfNatsServerNodesThroughTern(t *testing.T) {
	// Clustered JetStream wants its routes configured: every node names the other two.
	ports := []int{freePort(t), freePort(t), freePort(t)}
	url := func(port int) string { return "nats://127.0.0.1:" + itoa(port) }
	node := func(i int, name string) []string {
		var routes []string
		for j, port := range ports {
			if j != i {
				routes = append(routes, url(port))
			}
		}
		return []string{"-a", "127.0.0.1", "-n", name, "--cluster_name", "C1",
			"--cluster", url(ports[i]), "--routes", strings.Join(routes, ",")}
	}
	n1 := startNatsServer(t, true, append(node(0, "N1"), "-js", "-sd", t.TempDir())...)
	startNatsServer(t, true, append(node(1, "N2"), "-js", "-sd", t.TempDir())...)
	tern := startProcess(t, true, node(2, "T3")...)

	nc, err := nats.Connect(tern.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, err = js.AccountInfo(); err != nil; _, err = js.AccountInfo() {
		if time.Now().After(deadline) {
			t.Fatalf("JetStream never answered the Tern node's client: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "settings", Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := kv.Watch("color")
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()
	for _, value := range []string{"blue", "green"} {
		if _, err := kv.PutString("color", value); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case entry := <-watcher.Updates():
			if entry != nil { // nil marks the end of the initial values
				seen = append(seen, string(entry.Value()))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the watcher saw %v, want [blue green]", seen)
		}
	}
	if seen[0] != "blue" || seen[1] != "green" {
		t.Fatalf("the watcher saw %v, want [blue green]", seen)
	}
	entry, err := kv.Get("color")
	if err != nil || string(entry.Value()) != "green" || entry.Revision() != 2 {
		t.Fatalf("Get(color) = %v, %v; want green at revision 2", entry, err)
	}

	// The nats-server node's clients see the same bucket.
	other, err := nats.Connect(n1.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherJs, _ := other.JetStream()
	otherKv, err := otherJs.KeyValue("settings")
	if err != nil {
		t.Fatal(err)
	}
	if entry, err := otherKv.Get("color"); err != nil || string(entry.Value()) != "green" {
		t.Fatalf("Get(color) on the nats-server node = %v, %v", entry, err)
	}
	if err := kv.Delete("color"); err != nil {
		t.Fatal(err)
	}
	if _, err := otherKv.Get("color"); err != nats.ErrKeyNotFound {
		t.Fatalf("after Delete through the Tern node: %v, want ErrKeyNotFound", err)
	}
}

// freePort returns a port in 20000-32000 (below the kernel's ephemeral range) that is free
// now, locked for this process as tests/e2e's FreePort locks them (a file per port in
// /tmp/tern-test-ports, held until the process exits), so that test processes running side
// by side never share one.
func freePort(t *testing.T) int {
	t.Helper()
	os.MkdirAll(portLockDir, 0o777)
	for i := 0; i < 1000; i++ {
		port := 20000 + portRand.Intn(12000)
		if handedOut[port] {
			continue
		}
		handedOut[port] = true
		lock, err := os.OpenFile(filepath.Join(portLockDir, itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			lock.Close()
			continue
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+itoa(port)); err == nil {
			l.Close()
			portLocks = append(portLocks, lock) // kept open: the port stays ours
			return port
		}
		lock.Close()
	}
	t.Fatal("no free port")
	return 0
}

const portLockDir = "/tmp/tern-test-ports"

var (
	portRand  = rand.New(rand.NewSource(time.Now().UnixNano() ^ int64(os.Getpid())))
	handedOut = map[int]bool{}
	portLocks []*os.File
)
