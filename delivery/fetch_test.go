package delivery_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"switchboard/delivery"
)

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"127.0.0.1", false},
		{"127.5.6.7", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"fd00::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := delivery.PublicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

// mustFileServer serves the test files on host (127.0.0.1 or another
// loopback address), closed when the test ends.
func mustFileServer(tb testing.TB, host string, h http.Handler) *httptest.Server {
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", host, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

func TestFetcher_Fetch(t *testing.T) {
	other := mustFileServer(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("from 127.0.0.2"))
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("/logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n"))
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 1001)) })
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 11 {
			w.Write(make([]byte, 100))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.Handle("/to-logo", http.RedirectHandler("/logo.png", http.StatusFound))
	mux.Handle("/hop1", http.RedirectHandler("/hop2", http.StatusFound))
	mux.Handle("/hop2", http.RedirectHandler("/hop3", http.StatusFound))
	mux.Handle("/hop3", http.RedirectHandler("/hop4", http.StatusFound))
	mux.Handle("/hop4", http.RedirectHandler("/plain", http.StatusFound))
	mux.Handle("/to-ftp", http.RedirectHandler("ftp://example.com/x", http.StatusFound))
	mux.Handle("/to-other", http.RedirectHandler(other.URL+"/", http.StatusFound))
	srv := mustFileServer(t, "127.0.0.1", mux)

	onlyFirst := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	f := delivery.NewFetcher(delivery.FetchOptions{AllowAddr: onlyFirst, Timeout: 500 * time.Millisecond})
	tests := []struct {
		name     string
		fetcher  *delivery.Fetcher
		url      string
		body     string
		typ      string
		wantErr  error
		contains string
	}{
		{"a file with its type", f, srv.URL + "/logo.png", "\x89PNG\r\n", "image/png", nil, ""},
		{"a redirect followed", f, srv.URL + "/to-logo", "\x89PNG\r\n", "image/png", nil, ""},
		{"three redirects followed", f, srv.URL + "/hop2", "hello", "text/plain; charset=utf-8", nil, ""},
		{"four redirects are too many", f, srv.URL + "/hop1", "", "", nil, "more than 3 redirects"},
		{"a redirect to ftp", f, srv.URL + "/to-ftp", "", "", nil, "a redirect to a ftp URL"},
		{"a redirect to a refused address is refused", f, srv.URL + "/to-other", "", "", delivery.ErrAddressRefused, "127.0.0.2"},
		{"at the limit", f, srv.URL + "/plain", "hello", "text/plain; charset=utf-8", nil, ""},
		{"over the limit, announced", f, srv.URL + "/big", "", "", delivery.ErrTooLarge, "announced 1001 bytes"},
		{"over the limit, chunked", f, srv.URL + "/big-chunked", "", "", delivery.ErrTooLarge, "more than 1000 bytes"},
		{"404", f, srv.URL + "/missing", "", "", nil, "the server answered 404 Not Found"},
		{"too slow", f, srv.URL + "/slow", "", "", nil, "no answer within 500ms"},
		{"not http", f, "file:///etc/passwd", "", "", nil, "must be an http or https URL"},
		{"with a password", f, "http://user:pw@" + strings.TrimPrefix(srv.URL, "http://") + "/plain", "", "", nil, "must not carry a user name or password"},
		{"no host", f, "http:///plain", "", "", nil, "has no host"},
		// The real check: loopback is refused, by address and by a name
		// that resolves to it.
		{"loopback by default", delivery.NewFetcher(delivery.FetchOptions{}), srv.URL + "/plain", "", "", delivery.ErrAddressRefused, "127.0.0.1"},
		{"a name resolving to loopback", delivery.NewFetcher(delivery.FetchOptions{}), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/plain",
			"", "", delivery.ErrAddressRefused, "not a public address"},
		{"the metadata address", delivery.NewFetcher(delivery.FetchOptions{Timeout: time.Second}), "http://169.254.169.254/latest/meta-data/",
			"", "", delivery.ErrAddressRefused, "169.254.169.254"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, typ, err := tt.fetcher.Fetch(t.Context(), tt.url, 1000)
			if tt.wantErr == nil && tt.contains == "" {
				if err != nil || string(body) != tt.body || typ != tt.typ {
					t.Fatalf("Fetch = %q, %q, %v; want %q, %q", body, typ, err, tt.body, tt.typ)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch = %q, %q; want an error", body, typ)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.contains) || strings.Contains(err.Error(), "/plain") {
				t.Errorf("err = %q, want it to say %q and not repeat the URL", err, tt.contains)
			}
		})
	}
}
