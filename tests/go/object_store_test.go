// nats.go 1.22's object store against tern-server: objects larger than one chunk put and
// read back whole, info and list, links to objects, watch, delete (the chunks purged), and
// a bucket that outlives its client.
package gotests

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestObjectStore(t *testing.T) {
	_, js := connectJS(t)
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "FILES", Description: "test files"})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := obs.Watch(nats.IncludeHistory())
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Stop()
	select { // the initial nil marks the end of what existed
	case info := <-watcher.Updates():
		if info != nil {
			t.Fatalf("watch before any object: %+v", info)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch: no end-of-history marker")
	}

	big := make([]byte, 1<<20+12345) // about 9 chunks of 128 KiB
	rand.Read(big)
	info, err := obs.PutBytes("blob.bin", big)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != uint64(len(big)) || info.Chunks < 8 || info.Digest == "" {
		t.Fatalf("put: %+v", info)
	}
	got, err := obs.GetBytes("blob.bin")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	if _, err := obs.PutString("notes.txt", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.AddLink("latest", info); err != nil {
		t.Fatal(err)
	}
	linked, err := obs.GetBytes("latest")
	if err != nil || !bytes.Equal(linked, big) {
		t.Fatalf("get through link: %d bytes, %v", len(linked), err)
	}
	list, err := obs.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		select {
		case u := <-watcher.Updates():
			if u != nil {
				seen[u.Name] = true
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watch saw %v", seen)
		}
	}
	if !seen["blob.bin"] || !seen["notes.txt"] || !seen["latest"] {
		t.Fatalf("watch saw %v", seen)
	}

	if err := obs.Delete("blob.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.GetBytes("blob.bin"); err != nats.ErrObjectNotFound {
		t.Fatalf("get after delete: %v", err)
	}
	status, err := obs.Status()
	if err != nil {
		t.Fatal(err)
	}
	// The deleted object's chunks are purged: only notes.txt's data and the meta remain.
	if status.Size() > 64*1024 || status.Description() != "test files" {
		t.Fatalf("status after delete: %d bytes, %q", status.Size(), status.Description())
	}
	names, err := js.ObjectStoreNames(), error(nil)
	count := 0
	for range names {
		count++
	}
	if count != 1 || err != nil {
		t.Fatalf("object store names: %d", count)
	}
	if err := js.DeleteObjectStore("FILES"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.ObjectStore("FILES"); err == nil {
		t.Fatal("bucket still there after delete")
	}
}
