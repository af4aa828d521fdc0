// Clusters through nats.go: the discovered-servers callback and DiscoveredServers() as
// nodes join, ConnectedClusterName(), and failover to another node when one is killed.
package gotests

import (
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
