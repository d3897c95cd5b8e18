package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun_Healthcheck(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr string // "" for success
	}{
		{"alive", http.StatusOK, ""},
		{"unavailable", http.StatusServiceUnavailable, "503 Service Unavailable"},
		{"another 2xx is not alive", http.StatusNoContent, "204 No Content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked = r.Method + " " + r.URL.Path
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			_, _, err := cli{}.run(t, "", "healthcheck", "--url", srv.URL+"/healthz")
			if asked != "GET /healthz" {
				t.Errorf("asked %q, want GET /healthz", asked)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		if _, _, err := (cli{}).run(t, "", "healthcheck", "--url", url+"/healthz"); err == nil {
			t.Error("err = nil, want the connection's error")
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		if _, _, err := (cli{}).run(t, "", "healthcheck", "--nope"); !errors.Is(err, errUsage) {
			t.Errorf("err = %v, want errUsage", err)
		}
	})
}

func TestHealthcheckURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"", "http://127.0.0.1:8080/healthz"},
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:9000", "http://127.0.0.1:9000/healthz"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/healthz"},
		{"10.1.2.3:80", "http://10.1.2.3:80/healthz"},
		{"[::1]:8080", "http://[::1]:8080/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := healthcheckURL(tt.addr); got != tt.want {
				t.Errorf("healthcheckURL(%q) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
}
