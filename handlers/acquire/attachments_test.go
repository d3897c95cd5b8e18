package acquire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"switchboard/delivery"
	"switchboard/handlers"
	"switchboard/handlers/acquire"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// serveWith makes the fixture's requests go to a router with the Acquire
// settings cfg.
func (f *fixture) serveWith(t *testing.T, cfg acquire.Config) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.h = handlers.New(handlers.Config{Acquire: cfg}, handlers.Deps{Deps: dialect.Deps{Store: f.st, Keys: f.keys, Log: log}})
	f.srv = httptest.NewServer(apitest.Wrap(t, f.h))
	t.Cleanup(f.srv.Close)
}

// loopbackFetcher fetches from the test's servers on 127.0.0.1, which the
// real fetcher refuses.
func loopbackFetcher() *delivery.Fetcher {
	return delivery.NewFetcher(delivery.FetchOptions{AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() }})
}

// storedAttachments returns the attachments kept for a message, in order.
func (f *fixture) storedAttachments(tb testing.TB, messageID int64) []models.Attachment {
	tb.Helper()
	var as []models.Attachment
	if err := f.st.GORM().Where("message_id = ?", messageID).Order("id").Find(&as).Error; err != nil {
		tb.Fatal(err)
	}
	return as
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestMail_Attachments(t *testing.T) {
	pdf := bytes.Repeat([]byte("%PDF-1.7 \x00\xff"), 100)
	png := []byte("\x89PNG\r\n\x1a\nrest")
	files := http.NewServeMux()
	files.HandleFunc("/logo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	})
	files.HandleFunc("/notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no type: the name's extension tells
		w.Write([]byte("notes"))
	})
	files.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2000)) })
	files.Handle("/moved", http.RedirectHandler("/logo", http.StatusFound))
	fileSrv := httptest.NewServer(files)
	t.Cleanup(fileSrv.Close)

	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		f.serveWith(t, acquire.Config{Fetcher: loopbackFetcher(), AttachmentLimit: 3000})
		type want struct {
			name, typ, url string
			content        []byte
		}
		tests := []struct {
			name        string
			attachments []any
			want        []want
		}{
			{"base64, with and without a type", []any{
				map[string]any{"name": "invoice.pdf", "contentType": "application/pdf", "content": b64(pdf)},
				map[string]any{"name": "readme.txt", "content": base64.RawStdEncoding.EncodeToString([]byte("hello"))},
				map[string]any{"name": "blob", "content": ""},
			}, []want{
				{"invoice.pdf", "application/pdf", "", pdf},
				{"readme.txt", "text/plain; charset=utf-8", "", []byte("hello")},
				{"blob", "text/plain; charset=utf-8", "", []byte{}},
			}},
			{"by URL, redirect followed, the server's type or the name's", []any{
				map[string]any{"name": "logo.png", "url": fileSrv.URL + "/moved"},
				map[string]any{"name": "notes.txt", "url": fileSrv.URL + "/notes.txt"},
				map[string]any{"name": "logo", "url": fileSrv.URL + "/logo", "contentType": "application/octet-stream"},
			}, []want{
				{"logo.png", "image/png", fileSrv.URL + "/moved", png},
				{"notes.txt", "text/plain; charset=utf-8", fileSrv.URL + "/notes.txt", []byte("notes")},
				{"logo", "application/octet-stream", fileSrv.URL + "/logo", png},
			}},
			{"both kinds, exactly at the limit", []any{
				map[string]any{"name": "a.bin", "contentType": "application/octet-stream", "content": b64(make([]byte, 3000-len(png)))},
				map[string]any{"name": "logo.png", "url": fileSrv.URL + "/logo"},
			}, []want{
				{"a.bin", "application/octet-stream", "", make([]byte, 3000-len(png))},
				{"logo.png", "image/png", fileSrv.URL + "/logo", png},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Token: f.full,
					Body: strings.NewReader(f.mailBody(map[string]any{"attachments": tt.attachments}))})
				if r.status != http.StatusOK {
					t.Fatalf("status = %d; body %s", r.status, r.body)
				}
				var got struct {
					Data struct {
						ID          int64            `json:"id"`
						Attachments []map[string]any `json:"attachments"`
					} `json:"data"`
				}
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				var wantList []map[string]any
				for _, w := range tt.want {
					m := map[string]any{"name": w.name, "contentType": w.typ, "size": float64(len(w.content))}
					if w.url != "" {
						m["url"] = w.url
					}
					wantList = append(wantList, m)
				}
				gb, _ := json.Marshal(got.Data.Attachments)
				wb, _ := json.Marshal(wantList)
				if string(gb) != string(wb) {
					t.Errorf("attachments\n got: %s\nwant: %s", gb, wb)
				}
				stored := f.storedAttachments(t, got.Data.ID)
				if len(stored) != len(tt.want) {
					t.Fatalf("%d attachments stored, want %d", len(stored), len(tt.want))
				}
				for i, a := range stored {
					w := tt.want[i]
					if a.Name != w.name || a.ContentType != w.typ || a.SourceURL != w.url || !bytes.Equal(a.Content, w.content) ||
						a.Size != int64(len(w.content)) {
						t.Errorf("stored %d: %s %s %s %d bytes, want %s %s %s %d bytes", i, a.Name, a.ContentType, a.SourceURL, len(a.Content),
							w.name, w.typ, w.url, len(w.content))
					}
				}
				if d := f.mustDelivery(t, got.Data.ID); d == nil || d.Status != models.DeliveryQueued {
					t.Errorf("delivery = %+v, want queued", d)
				}
			})
		}
	})
}

func TestMail_AttachmentErrors(t *testing.T) {
	files := http.NewServeMux()
	files.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 100)) })
	files.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 950)) })
	files.HandleFunc("/missing", http.NotFound)
	fileSrv := httptest.NewServer(files)
	t.Cleanup(fileSrv.Close)
	fileHost := strings.TrimPrefix(fileSrv.URL, "http://")

	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		loose := mustFixture(t, st)
		loose.serveWith(t, acquire.Config{Fetcher: loopbackFetcher(), AttachmentLimit: 1000, BodyLimit: "1K"})
		strict := mustFixture(t, storetest.MustOpen(t, st.Backend()))
		strict.serveWith(t, acquire.Config{AttachmentLimit: 1000})
		const invalid = "ERROR_INVALID_INPUT"
		att := func(items ...any) map[string]any { return map[string]any{"attachments": items} }
		tests := []struct {
			name    string
			f       *fixture
			body    map[string]any
			status  int
			message string
		}{
			{"not base64", loose, att(map[string]any{"name": "a.pdf", "content": "not base64!"}), 400,
				"attachments[0].content: is not valid base64"},
			{"content and url", loose, att(map[string]any{"name": "a.pdf", "content": "AAAA", "url": fileSrv.URL + "/small"}), 400,
				"attachments[0]: give content or url, not both"},
			{"every bad item at once", loose, att(
				map[string]any{"name": " ", "content": "AAAA"},
				map[string]any{"name": "../a.pdf", "content": "AAAA"},
				map[string]any{"content": "AAAA"},
				map[string]any{"name": "a.pdf", "contentType": "pdf", "content": 1},
				map[string]any{"name": "a\tb", "url": "ftp://example.com/a"},
				map[string]any{"name": "a.pdf", "url": "http://user:pw@example.com/a"},
				"a.pdf",
			), 400, "attachments[0].name: must not be blank; attachments[1].name: must be a file name, not a path; attachments[2].name: is required; " +
				`attachments[3].contentType: "pdf" is not a MIME type such as application/pdf; attachments[3].content: must be a string of base64; ` +
				"attachments[4].name: must not contain control characters; attachments[4].url: must be an http or https URL; " +
				"attachments[5].url: must not carry a user name or password; attachments[6]: must be an object"},
			{"too many", loose, att(func() []any {
				items := make([]any, models.MaxAttachments+1)
				for i := range items {
					items[i] = map[string]any{"name": "a.txt", "content": ""}
				}
				return items
			}()...), 400, "attachments: an email may have at most 20 attachments, not 21"},
			{"a URL that answers 404", loose, att(map[string]any{"name": "a.pdf", "url": fileSrv.URL + "/missing"}), 400,
				"attachments[0].url: could not be fetched: the server answered 404 Not Found"},
			{"base64 over the limit", loose, att(map[string]any{"name": "a.bin", "content": b64(make([]byte, 1001))}), 413,
				"attachments: together at most 1000 bytes (0.001 MB) may be sent with one email; these are 1001 bytes"},
			{"a URL brings them over the limit", loose, att(
				map[string]any{"name": "a.bin", "content": b64(make([]byte, 100))},
				map[string]any{"name": "b.bin", "url": fileSrv.URL + "/big"},
			), 413, "attachments: together at most 1000 bytes (0.001 MB) may be sent with one email; attachments[1].url brings them over it"},
			{"a loopback URL is refused", strict, att(map[string]any{"name": "a.pdf", "url": fileSrv.URL + "/small"}), 400,
				fmt.Sprintf("attachments[0].url: could not be fetched: dial tcp %s: 127.0.0.1: not a public address", fileHost)},
			{"the cloud metadata address is refused", strict, att(map[string]any{"name": "a.pdf", "url": "http://169.254.169.254/latest/meta-data/"}), 400,
				"attachments[0].url: could not be fetched: dial tcp 169.254.169.254:80: 169.254.169.254: not a public address"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w0 := tt.f.writes(t)
				r := tt.f.do(t, request{Method: http.MethodPost, Path: mailPath, Token: tt.f.full, Body: strings.NewReader(tt.f.mailBody(tt.body))})
				assertError(t, r, tt.status, invalid, tt.message)
				if w1 := tt.f.writes(t); w1 != w0 {
					t.Errorf("wrote: messages, cases, deliveries %v -> %v", w0, w1)
				}
			})
		}
		t.Run("the body limit makes room for the attachments in base64", func(t *testing.T) {
			// 1K of body and 1000 bytes of attachments, 1336 in base64.
			ok := loose.mailBody(att(map[string]any{"name": "a.bin", "content": b64(make([]byte, 1000))}))
			if r := loose.do(t, request{Method: http.MethodPost, Path: mailPath, Token: loose.full, Body: strings.NewReader(ok)}); r.status != http.StatusOK {
				t.Fatalf("a %d-byte body: %d %s", len(ok), r.status, r.body)
			}
			tooBig := loose.mailBody(att(map[string]any{"name": "a.bin", "content": b64(make([]byte, 1000))}, map[string]any{"name": "pad", "content": strings.Repeat("A", 1100)}))
			r := loose.do(t, request{Method: http.MethodPost, Path: mailPath, Token: loose.full, Body: strings.NewReader(tooBig)})
			assertError(t, r, http.StatusRequestEntityTooLarge, invalid, "request body too large")
		})
	})
}
