package delivery_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"switchboard/models"
)

// receivedPart is one leaf part of a received message.
type receivedPart struct {
	mediaType   string
	disposition string
	filename    string
	body        []byte
}

// leafParts walks the MIME tree of a message or part, depth first, and
// returns its leaves with their bodies decoded.
func leafParts(tb testing.TB, contentType, encoding, disposition string, body io.Reader) []receivedPart {
	tb.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		tb.Fatalf("Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []receivedPart
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				tb.Fatalf("MIME part: %v", err)
			}
			out = append(out, leafParts(tb, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"),
				p.Header.Get("Content-Disposition"), p)...)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		tb.Fatal(err)
	}
	part := receivedPart{mediaType: mt, body: []byte(decodeBody(tb, encoding, raw))}
	if disposition != "" {
		d, dp, err := mime.ParseMediaType(disposition)
		if err != nil {
			tb.Fatalf("Content-Disposition %q: %v", disposition, err)
		}
		part.disposition = d
		part.filename, err = new(mime.WordDecoder).DecodeHeader(dp["filename"])
		if err != nil {
			tb.Fatalf("filename %q: %v", dp["filename"], err)
		}
	}
	return []receivedPart{part}
}

func TestSMTP_Send_attachments(t *testing.T) {
	serverTLS, clientTLS := mustTLS(t)
	binary := make([]byte, 300_000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	files := []models.Attachment{
		{Name: "invoice.pdf", ContentType: "application/pdf", Content: binary},
		{Name: "Übersicht 2025.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("Zeile 1\r\nZeile 2\r\n")},
		{Name: "empty.bin", ContentType: "application/octet-stream", Content: []byte{}},
	}
	email := sampleEmail()
	email.Attachments = files
	srv := mustSMTPServer(t, smtpServerOptions{StartTLS: true, tlsConf: serverTLS})
	s := mustSMTP(t, "smtp://"+srv.Addr, clientTLS)
	if _, err := s.Send(t.Context(), email); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Accepted()
	if len(got) != 1 {
		t.Fatalf("server accepted %d messages, want 1", len(got))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "multipart/mixed" {
		t.Errorf("Content-Type %q, want multipart/mixed", msg.Header.Get("Content-Type"))
	}
	parts := leafParts(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body)
	if len(parts) != 2+len(files) {
		t.Fatalf("%d leaf parts, want the text, the HTML and %d attachments", len(parts), len(files))
	}
	if parts[0].mediaType != "text/plain" || parts[1].mediaType != "text/html" || parts[0].disposition == "attachment" {
		t.Errorf("body parts %s, %s (%s), want text/plain and text/html", parts[0].mediaType, parts[1].mediaType, parts[0].disposition)
	}
	if string(parts[1].body) != email.Message.HTMLBody {
		t.Errorf("HTML part %q", parts[1].body)
	}
	for i, f := range files {
		p := parts[2+i]
		wantType, _, _ := mime.ParseMediaType(f.ContentType)
		if p.disposition != "attachment" || p.filename != f.Name || p.mediaType != wantType {
			t.Errorf("attachment %d: %s %q %s, want attachment %q %s", i, p.disposition, p.filename, p.mediaType, f.Name, wantType)
		}
		if !bytes.Equal(p.body, f.Content) {
			t.Errorf("attachment %d: %d bytes arrived, want the %d sent", i, len(p.body), len(f.Content))
		}
	}
	// The files travel as base64: a binary part survives any relay.
	if !bytes.Contains(got[0].Data, []byte(base64.StdEncoding.EncodeToString(binary[:57]))) {
		t.Errorf("the PDF is not base64-encoded in the message")
	}
}
