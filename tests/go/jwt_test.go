// Operator mode with JWTs made by the NATS jwt library (Debian's, which writes the
// version 1 layout) and nats.go loading the .creds file: a user of a preloaded account
// connects and talks, a user of an account the server does not know is refused.
package gotests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// userCreds writes a .creds file for a new user signed by the account key.
func userCreds(t *testing.T, account nkeys.KeyPair, dir, name string) string {
	user, _ := nkeys.CreateUser()
	userPublic, _ := user.PublicKey()
	claims := jwt.NewUserClaims(userPublic)
	claims.Name = name
	token, err := claims.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestJwtCredsFromTheNatsJwtLibrary(t *testing.T) {
	dir := t.TempDir()
	operator, _ := nkeys.CreateOperator()
	operatorPublic, _ := operator.PublicKey()
	operatorJwt, err := jwt.NewOperatorClaims(operatorPublic).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	account, _ := nkeys.CreateAccount()
	accountPublic, _ := account.PublicKey()
	accountJwt, err := jwt.NewAccountClaims(accountPublic).Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := nkeys.CreateAccount()

	operatorFile := filepath.Join(dir, "operator.jwt")
	if err := os.WriteFile(operatorFile, []byte(operatorJwt), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "server.conf")
	text := fmt.Sprintf("operator: %s\nresolver: MEMORY\nresolver_preload: { %s: %s }\n",
		operatorFile, accountPublic, accountJwt)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-c", conf)

	nc, err := nats.Connect(s.URL, nats.UserCredentials(userCreds(t, account, dir, "alice")),
		nats.NoReconnect())
	if err != nil {
		t.Fatalf("creds login: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("hello", []byte("world")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(2 * time.Second); err != nil || string(msg.Data) != "world" {
		t.Fatalf("round trip: %v %v", msg, err)
	}

	if _, err := nats.Connect(s.URL, nats.UserCredentials(userCreds(t, stranger, dir, "mallory")),
		nats.NoReconnect()); err == nil {
		t.Fatal("a user of an unknown account was let in")
	}
}
