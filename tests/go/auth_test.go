// nats.go against Tern's authentication and permissions: user/password, token and nkey
// logins as nats.go performs them, and the permission errors it reports.
package gotests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

func TestAuthUsersNkeysAndPermissions(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	public, _ := user.PublicKey()
	conf := filepath.Join(t.TempDir(), "auth.conf")
	text := fmt.Sprintf(`authorization {
  users: [
    { user: alice, password: pw,
      permissions: { publish: "orders.>", subscribe: ["orders.>", "_INBOX.>"] } }
    { nkey: %s }
  ]
}
`, public)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-c", conf)

	if _, err := nats.Connect(s.URL, nats.UserInfo("alice", "wrong"), nats.NoReconnect()); err == nil ||
		!strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		t.Fatalf("wrong password: got %v", err)
	}
	if _, err := nats.Connect(s.URL, nats.NoReconnect()); err == nil {
		t.Fatal("no credentials were accepted")
	}

	// An nkey user signs the server's nonce.
	signed, err := nats.Connect(s.URL, nats.Nkey(public, func(nonce []byte) ([]byte, error) {
		return user.Sign(nonce)
	}), nats.NoReconnect())
	if err != nil {
		t.Fatalf("nkey login: %v", err)
	}
	defer signed.Close()

	// alice may publish orders.> only; the violation is reported, not fatal.
	violations := make(chan error, 4)
	alice, err := nats.Connect(s.URL, nats.UserInfo("alice", "pw"), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	defer alice.Close()
	watch, _ := signed.SubscribeSync(">")
	signed.Flush()
	alice.Publish("payments.new", []byte("no"))
	alice.Publish("orders.new", []byte("yes"))
	alice.Flush()
	select {
	case err := <-violations:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") ||
			!strings.Contains(err.Error(), `"payments.new"`) {
			t.Fatalf("unexpected async error %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no permission violation reported")
	}
	msg, err := watch.NextMsg(2 * time.Second)
	if err != nil || msg.Subject != "orders.new" {
		t.Fatalf("expected only orders.new, got %v %v", msg, err)
	}
	if !alice.IsConnected() {
		t.Fatal("a permission violation closed the connection")
	}
}

func TestAuthToken(t *testing.T) {
	s := startServer(t, "--auth", "s3cr3t")
	nc, err := nats.Connect(s.URL, nats.Token("s3cr3t"), nats.NoReconnect())
	if err != nil {
		t.Fatalf("token login: %v", err)
	}
	nc.Close()
	if _, err := nats.Connect(s.URL, nats.Token("guess"), nats.NoReconnect()); err == nil {
		t.Fatal("a wrong token was accepted")
	}
}
