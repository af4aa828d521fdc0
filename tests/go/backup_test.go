// Stream backups read the way natscli's `nats stream backup` reads them (jsm.go): the
// snapshot's chunks, acked, piped through klauspost's s2 reader, must give a tar archive;
// and the same bytes sent back through STREAM.RESTORE bring the stream back.
package gotests

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
)

func apiRequest(t *testing.T, nc *nats.Conn, subject string, body any) map[string]any {
	t.Helper()
	data, _ := json.Marshal(body)
	msg, err := nc.Request(subject, data, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var answer map[string]any
	if err := json.Unmarshal(msg.Data, &answer); err != nil {
		t.Fatalf("%s: %v: %q", subject, err, msg.Data)
	}
	return answer
}

func TestBackupIsAnS2TarArchiveAndRestores(t *testing.T) {
	nc, js := connectJS(t)
	if _, err := js.AddStream(&nats.StreamConfig{Name: "LOGS", Subjects: []string{"logs.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 300; i++ {
		payload := strings.Repeat(fmt.Sprintf("line %d ", i), 100)
		if _, err := js.Publish(fmt.Sprintf("logs.%d", i%5), []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.AddConsumer("LOGS", &nats.ConsumerConfig{Durable: "READER", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}

	// Backup, as jsm.go does it.
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	reply := apiRequest(t, nc, "$JS.API.STREAM.SNAPSHOT.LOGS",
		map[string]any{"deliver_subject": inbox, "no_consumers": false, "jsck": false, "chunk_size": 131072})
	if reply["error"] != nil {
		t.Fatalf("snapshot: %v", reply["error"])
	}
	var archive bytes.Buffer
	for {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("chunk: %v", err)
		}
		if len(msg.Data) == 0 {
			break
		}
		archive.Write(msg.Data)
		if msg.Reply != "" {
			nc.Publish(msg.Reply, nil)
		}
	}
	sub.Unsubscribe()

	// The bytes decode with the s2 reader jsm.go uses, into a tar archive.
	files := map[string]int{}
	reader := tar.NewReader(s2.NewReader(bytes.NewReader(archive.Bytes())))
	for {
		header, err := reader.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		n, err := io.Copy(io.Discard, reader)
		if err != nil {
			t.Fatalf("%s: %v", header.Name, err)
		}
		files[header.Name] = int(n)
	}
	if files["meta.json"] == 0 || files["obs/READER/meta.json"] == 0 || files["msgs/000001.dat"] < 300*700 {
		t.Fatalf("archive holds %v", files)
	}

	// Restore into a fresh stream of the same name.
	if err := js.DeleteStream("LOGS"); err != nil {
		t.Fatal(err)
	}
	started := apiRequest(t, nc, "$JS.API.STREAM.RESTORE.LOGS", map[string]any{"config": reply["config"], "state": reply["state"]})
	deliver, _ := started["deliver_subject"].(string)
	if deliver == "" {
		t.Fatalf("restore: %v", started)
	}
	data := archive.Bytes()
	for at := 0; at < len(data); at += 65536 {
		end := at + 65536
		if end > len(data) {
			end = len(data)
		}
		answer, err := nc.Request(deliver, data[at:end], 5*time.Second)
		if err != nil || len(answer.Data) != 0 {
			t.Fatalf("chunk at %d: %v %q", at, err, answer.Data)
		}
	}
	done, err := nc.Request(deliver, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(done.Data), "stream_create_response") || strings.Contains(string(done.Data), "error") {
		t.Fatalf("restore: %s", done.Data)
	}
	info, err := js.StreamInfo("LOGS")
	if err != nil || info.State.Msgs != 300 || info.State.LastSeq != 300 || info.State.Consumers != 1 {
		t.Fatalf("restored: %+v %v", info, err)
	}
	msg, err := js.GetMsg("LOGS", 123)
	if err != nil || msg.Subject != "logs.3" || !strings.HasPrefix(string(msg.Data), "line 123 ") {
		t.Fatalf("message 123: %+v %v", msg, err)
	}
}
