// Several subscribers creating the same durable push consumer at once (nats.go 1.22's
// SubscribeSync with nats.Durable): exactly one of them gets it and the others get the
// error nats-server gives, run on both servers and compared.
package gotests

import (
	"sort"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

func durableRace(t *testing.T, url string) (int, []string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "RACE", Subjects: []string{"race.>"}}); err != nil {
		t.Fatal(err)
	}
	const subscribers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	var failures []string
	start := make(chan struct{})
	done := make(chan struct{}) // subscribers stay connected (and bound) until all have tried
	for i := 0; i < subscribers; i++ {
		wg.Add(1)
		go func() {
			conn, err := nats.Connect(url)
			if err != nil {
				t.Error(err)
				wg.Done()
				return
			}
			cjs, _ := conn.JetStream()
			<-start
			_, err = cjs.SubscribeSync("race.x", nats.Durable("dur"))
			mu.Lock()
			if err == nil {
				wins++
			} else {
				failures = append(failures, err.Error())
			}
			mu.Unlock()
			wg.Done()
			<-done
			conn.Close()
		}()
	}
	close(start)
	wg.Wait()
	close(done)
	sort.Strings(failures)
	return wins, failures
}

func TestConcurrentDurableCreation(t *testing.T) {
	s := startServer(t)
	wins, failures := durableRace(t, s.URL)
	t.Logf("Tern: %d won, failures %q", wins, failures)
	if wins != 1 {
		t.Fatalf("Tern: %d subscribers got the durable (failures %q)", wins, failures)
	}
	ref := startNatsServer(t, false, "-js", "-sd", t.TempDir())
	refWins, refFailures := durableRace(t, ref.URL)
	t.Logf("nats-server: %d won, failures %q", refWins, refFailures)
	distinct := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, f := range list {
			m[f] = true
		}
		return m
	}
	if refWins != wins || len(refFailures) != len(failures) {
		t.Fatalf("nats-server: %d won; Tern: %d", refWins, wins)
	}
	for f := range distinct(failures) {
		if !distinct(refFailures)[f] {
			t.Errorf("Tern's error %q is not one nats-server gives (%q)", f, refFailures)
		}
	}
}
