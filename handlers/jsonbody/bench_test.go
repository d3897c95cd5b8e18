package jsonbody_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"switchboard/handlers/jsonbody"
)

// uploadBody returns a CallGear upload.chats request of about size bytes:
// chats of 20 messages each, with non-ASCII names and messages, as the
// largest bodies the server takes (16 MB) look.
func uploadBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":1,"method":"upload.chats","params":{"access_token":"eyJhbGciOiJIUzI1NiJ9.x.y","chats":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"start_date_time":"2024-05-01 10:00:00","name":"Visitor №%d Łukasz","phone":"+14155550%03d",`+
			`"email":"v%d@example.com","status":"succeeded","initiator":"visitor","site_id":1,"ext_id":"chat-%d","messages":[`, i, i%1000, i, i)
		for j := range 20 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"date_time":"2024-05-01 10:%02d:00","source":"visitor","message":"Hello, I have a question about order %d — ça marche? \"quoted\" \u00e9\n"}`, j, i)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

// BenchmarkCheck measures Check on a 16 MB upload, beside json.Valid (the
// syntax check it replaces on the CallGear endpoint) and the decode into
// map[string]any the dialects then run.
func BenchmarkCheck(b *testing.B) {
	body := uploadBody(16 << 20)
	if err := jsonbody.Check(body); err != nil {
		b.Fatal(err)
	}
	b.Run("Check", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := jsonbody.Check(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
