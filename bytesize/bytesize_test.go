package bytesize_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/bytesize"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"512", 512, false},
		{"512B", 512, false},
		{"2M", 2_000_000, false},
		{"2m", 2_000_000, false},
		{"2MB", 2_000_000, false},
		{"512K", 512_000, false},
		{"1.5K", 1500, false},
		{"16 M", 16_000_000, false},
		{"25MiB", 26_214_400, false},
		{"25Mi", 26_214_400, false},
		{"1KiB", 1024, false},
		{"1G", 1_000_000_000, false},
		{"", 0, true},
		{"M", 0, true},
		{"-1M", 0, true},
		{"2X", 0, true},
		{"2  M", 0, true},
		{"2MiBs", 0, true},
		{"99999999E", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := bytesize.Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestParse_AsEchoBodyLimit checks that Parse reads each size as Echo's
// BodyLimit middleware enforces it: a body of Parse's bytes passes, one
// more byte is refused with 413. The flags' sizes reach both.
func TestParse_AsEchoBodyLimit(t *testing.T) {
	for _, s := range []string{"100", "2K", "2KB", "1.5K", "1KiB", "3Ki", "2k"} {
		t.Run(s, func(t *testing.T) {
			n, err := bytesize.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			e := echo.New()
			e.Use(middleware.BodyLimit(s))
			e.POST("/", func(c echo.Context) error {
				if _, err := c.FormParams(); err != nil {
					return err
				}
				return c.NoContent(http.StatusNoContent)
			})
			for _, tc := range []struct {
				size int64
				want int
			}{{n, http.StatusNoContent}, {n + 1, http.StatusRequestEntityTooLarge}} {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("a="+strings.Repeat("x", int(tc.size)-2)))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != tc.want {
					t.Errorf("a body of %d bytes under BodyLimit(%q) = %d, want %d", tc.size, s, rec.Code, tc.want)
				}
			}
		})
	}
}
