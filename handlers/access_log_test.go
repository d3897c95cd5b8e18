package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// TestAccessLog_Fields checks the record the access log writes for each
// kind of answer: its level, message and every field, and that nothing is
// written when the logger's level drops the record.
func TestAccessLog_Fields(t *testing.T) {
	tests := []struct {
		name      string
		minLevel  slog.Level
		requestID string
		handler   echo.HandlerFunc
		want      map[string]any // nil: no record
	}{
		{
			name: "ok with the client's request id", requestID: "client-id",
			handler: func(c echo.Context) error { return c.String(http.StatusOK, "ok") },
			want: map[string]any{"level": "INFO", "msg": "request", "request_id": "client-id", "method": "GET",
				"path": "/x", "status": float64(200), "remote_ip": "192.0.2.1"},
		},
		{
			name:    "an error the router has yet to write",
			handler: func(echo.Context) error { return echo.NewHTTPError(http.StatusServiceUnavailable, "down") },
			want: map[string]any{"level": "ERROR", "msg": "request", "method": "GET", "path": "/x",
				"status": float64(503), "remote_ip": "192.0.2.1", "err": "code=503, message=down"},
		},
		{
			name: "a 4xx written by the handler",
			handler: func(c echo.Context) error {
				return c.String(http.StatusNotFound, "no")
			},
			want: map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/x",
				"status": float64(404), "remote_ip": "192.0.2.1"},
		},
		{
			name: "below the logger's level", minLevel: slog.LevelWarn,
			handler: func(c echo.Context) error { return c.String(http.StatusOK, "ok") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.minLevel}))
			e := echo.New()
			e.IPExtractor = ipExtractor(nil)
			e.Use(middleware.RequestID(), accessLog(log))
			e.GET("/x", tt.handler)
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.RemoteAddr = "192.0.2.1:1234"
			if tt.requestID != "" {
				req.Header.Set(echo.HeaderXRequestID, tt.requestID)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if tt.want == nil {
				if buf.Len() != 0 {
					t.Errorf("logged %s, want nothing", buf.String())
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("record %q: %v", buf.String(), err)
			}
			if tt.requestID == "" {
				tt.want["request_id"] = rec.Header().Get(echo.HeaderXRequestID)
			}
			// latency_ms replaced the nanoseconds of "latency": the len
			// check below fails should both be written.
			if ms, ok := got["latency_ms"].(float64); !ok || ms < 0 {
				t.Errorf("latency_ms = %#v, want a number of milliseconds", got["latency_ms"])
			}
			delete(got, "latency_ms")
			delete(got, "time")
			if len(got) != len(tt.want) {
				t.Errorf("record %v, want the fields %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

// BenchmarkAccessLog measures the access log's cost per request through
// Echo with a JSON handler writing to a buffer, as production logs; and for
// contrast the same record written through Echo's RequestLogger, as the
// router did before.
func BenchmarkAccessLog(b *testing.B) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	echoLogger := middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURIPath: true, LogLatency: true, LogRequestID: true,
		LogRemoteIP: true, LogError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("request_id", v.RequestID), slog.String("method", v.Method),
				slog.String("path", v.URIPath), slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Nanoseconds())/1e6), slog.String("remote_ip", v.RemoteIP),
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
	for _, m := range []struct {
		name string
		mw   echo.MiddlewareFunc
	}{{"accessLog", accessLog(log)}, {"echo-RequestLogger", echoLogger}} {
		b.Run(m.name, func(b *testing.B) {
			e := echo.New()
			e.IPExtractor = ipExtractor(nil)
			e.Use(middleware.RequestID(), m.mw)
			e.GET("/x", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				e.ServeHTTP(rec, req)
			}
		})
	}
}
