// nats.go 1.22 against tern-server: JetStream publish (sync and async), pull
// subscriptions with Fetch, push subscriptions (durable, queue, ordered), and the KV API
// (including CreateKeyValue on an existing bucket, which compares configurations).
package gotests

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func connectJS(t *testing.T) (*nats.Conn, nats.JetStreamContext) {
	t.Helper()
	s := startServer(t)
	nc, err := nats.Connect(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func TestPublishAndPullFetch(t *testing.T) {
	_, js := connectJS(t)
	if _, err := js.AddStream(&nats.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		ack, err := js.Publish("orders.new", []byte(fmt.Sprintf("o%d", i)), nats.MsgId(fmt.Sprintf("id-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Sequence != uint64(i) || ack.Stream != "ORDERS" {
			t.Fatalf("ack %+v", ack)
		}
	}
	if ack, err := js.Publish("orders.new", []byte("again"), nats.MsgId("id-3")); err != nil || !ack.Duplicate {
		t.Fatalf("duplicate: %+v %v", ack, err)
	}
	// Async publishes, then wait for every ack.
	for i := 0; i < 100; i++ {
		if _, err := js.PublishAsync("orders.async", []byte("a")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Second):
		t.Fatal("async publishes not acknowledged")
	}
	if _, err := js.Publish("nowhere", []byte("x")); err == nil {
		t.Fatal("publish without a stream succeeded")
	}

	sub, err := js.PullSubscribe("orders.new", "worker")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 10 {
		msgs, err := sub.Fetch(4, nats.MaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got++
			if string(m.Data) != fmt.Sprintf("o%d", got) {
				t.Fatalf("message %d is %q", got, m.Data)
			}
			if err := m.AckSync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := sub.Fetch(1, nats.MaxWait(300*time.Millisecond)); err != nats.ErrTimeout {
		t.Fatalf("empty fetch: %v", err)
	}
	info, err := sub.ConsumerInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 10 || info.NumPending != 0 || info.NumAckPending != 0 {
		t.Fatalf("consumer info %+v", info)
	}
}

func TestPushSubscriptions(t *testing.T) {
	nc, js := connectJS(t)
	if _, err := js.AddStream(&nats.StreamConfig{Name: "EVENTS", Subjects: []string{"events.*"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		js.Publish("events.a", []byte(fmt.Sprintf("e%d", i)))
	}
	// Ephemeral async push subscription with auto-ack.
	received := make(chan string, 100)
	sub, err := js.Subscribe("events.*", func(m *nats.Msg) { received <- string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		select {
		case s := <-received:
			if s != fmt.Sprintf("e%d", i) {
				t.Fatalf("got %q", s)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("push delivery timed out")
		}
	}
	sub.Unsubscribe()

	// Queue subscribers share a durable: each message to exactly one of them.
	counts := make(chan int, 100)
	for w := 0; w < 2; w++ {
		w := w
		if _, err := js.QueueSubscribe("events.*", "workers", func(m *nats.Msg) {
			counts <- w
			m.Ack()
		}, nats.Durable("workers"), nats.DeliverNew()); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()
	for i := 0; i < 20; i++ {
		js.Publish("events.b", []byte("q"))
	}
	total := 0
	timeout := time.After(5 * time.Second)
	for total < 20 {
		select {
		case <-counts:
			total++
		case <-timeout:
			t.Fatalf("queue delivered %d of 20", total)
		}
	}
	select {
	case <-counts:
		t.Fatal("a message was delivered twice")
	case <-time.After(300 * time.Millisecond):
	}

	// Ordered consumer: replays everything in order.
	osub, err := js.SubscribeSync("events.*", nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		m, err := osub.NextMsg(3 * time.Second)
		if err != nil {
			t.Fatalf("ordered message %d: %v", i, err)
		}
		meta, _ := m.Metadata()
		if meta.Sequence.Stream != uint64(i+1) {
			t.Fatalf("ordered message %d has stream seq %d", i, meta.Sequence.Stream)
		}
	}
}

func TestKeyValue(t *testing.T) {
	_, js := connectJS(t)
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "settings", History: 5, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Creating it again goes through nats.go's compare-and-update path.
	if _, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "settings", History: 5, TTL: time.Hour}); err != nil {
		t.Fatalf("re-create: %v", err)
	}
	rev, err := kv.PutString("color", "red")
	if err != nil || rev != 1 {
		t.Fatalf("put: %d %v", rev, err)
	}
	if _, err := kv.Create("color", []byte("blue")); err == nil {
		t.Fatal("create on an existing key succeeded")
	}
	if _, err := kv.Update("color", []byte("green"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update("color", []byte("stale"), 1); err == nil {
		t.Fatal("update with a stale revision succeeded")
	}
	e, err := kv.Get("color")
	if err != nil || string(e.Value()) != "green" || e.Revision() != 2 {
		t.Fatalf("get: %v %v", e, err)
	}
	kv.PutString("size", "L")
	if err := kv.Delete("size"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get("size"); err != nats.ErrKeyNotFound {
		t.Fatalf("deleted key: %v", err)
	}
	keys, err := kv.Keys()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[color]" {
		t.Fatalf("keys %v", keys)
	}
	history, err := kv.History("color")
	if err != nil || len(history) != 2 {
		t.Fatalf("history %v %v", history, err)
	}
	w, err := kv.WatchAll()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var initial []string
	for e := range w.Updates() {
		if e == nil {
			break
		}
		initial = append(initial, e.Key())
	}
	if fmt.Sprint(initial) != "[color size]" { // size's delete marker is its latest entry
		t.Fatalf("initial watch %v", initial)
	}
	kv.PutString("shape", "round")
	select {
	case e := <-w.Updates():
		if e.Key() != "shape" || string(e.Value()) != "round" {
			t.Fatalf("watched %s=%s", e.Key(), e.Value())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("watch update timed out")
	}
	status, err := kv.Status()
	if err != nil || status.History() != 5 || status.TTL() != time.Hour {
		t.Fatalf("status %v %v", status, err)
	}
	if err := js.DeleteKeyValue("settings"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.KeyValue("settings"); err != nats.ErrBucketNotFound {
		t.Fatalf("deleted bucket: %v", err)
	}
}
