package callgear

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecode_ParseDateTime(t *testing.T) {
	kyiv, err := time.LoadLocation("Europe/Kyiv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time // zero: refused
	}{
		{"2024-03-05 14:30:00", time.UTC, time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC)},
		{"2024-03-05 14:30:00", kyiv, time.Date(2024, 3, 5, 12, 30, 0, 0, time.UTC)},
		{"2024-07-05 14:30:00", kyiv, time.Date(2024, 7, 5, 11, 30, 0, 0, time.UTC)}, // summer time
		{"2024-02-29 23:59:59", time.UTC, time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"2023-02-29 10:00:00", time.UTC, time.Time{}},
		{"2024-13-01 10:00:00", time.UTC, time.Time{}},
		{"2024-03-05 24:00:00", time.UTC, time.Time{}},
		{"2024-03-05 4:30:00", time.UTC, time.Time{}},
		{"2024-03-05 04:30", time.UTC, time.Time{}},
		{"2024-03-05T14:30:00", time.UTC, time.Time{}},
		{"2024/03/05 14:30:00", time.UTC, time.Time{}},
		{"2024-03-05 14:30:00Z", time.UTC, time.Time{}},
		{"+024-03-05 14:30:00", time.UTC, time.Time{}},
		{"", time.UTC, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := parseDateTime(tt.in, tt.loc)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("parseDateTime(%q, %s) = %s, %v; want %s", tt.in, tt.loc, got, ok, tt.want)
		}
	}
}

func TestErrors_CodeOf(t *testing.T) {
	tests := map[string]int{
		mParseError: -32700, mInvalidRequest: -32600, mMethodNotFound: -32601,
		mRequiredMissed: -32602, mInvalidValue: -32602, mDataType: -32602, mUnexpected: -32602, mCombination: -32602,
		mEntityNotFound: -32602, mInvalidDateTime: -32602, mDataLimitExceeded: -32602,
		mAccessTokenInvalid: -32001, mAccessTokenExpired: -32001, mAuthError: -32001,
		mForbidden: -32003, mLimitExceeded: -32029, mBatchNotSupported: -32099, mNotificationsNotSup: -32099,
		mInternalError: -32603, "something_new": -32603,
	}
	for m, want := range tests {
		if got := codeOf(m); got != want {
			t.Errorf("codeOf(%s) = %d, want %d", m, got, want)
		}
	}
}

func TestErrors_ShownValue(t *testing.T) {
	long := ""
	for range 100 {
		long += "жж" // 4 bytes each pair: the cut must not split a rune
	}
	got, ok := shownValue(long).(string)
	if !ok || !utf8.ValidString(got) || len(got) > maxValueLen+len("…") || got[len(got)-len("…"):] != "…" {
		t.Errorf("shownValue(long) = %q", got)
	}
	if shownValue(map[string]any{}) != nil || shownValue([]any{1}) != nil {
		t.Error("objects and arrays are shown")
	}
	if shownValue("x") != "x" {
		t.Error("short string changed")
	}
}

func TestErrors_ShownValue_Numbers(t *testing.T) {
	digits := strings.Repeat("9", maxValueLen+10)
	tests := []struct {
		name string
		in   json.Number
		want any
	}{
		{"ordinary", "42", json.Number("42")},
		{"fraction", "-1.5e3", json.Number("-1.5e3")},
		{"beyond float64", "1e400", "1e400"},
		{"too many digits", json.Number(digits), digits[:maxValueLen] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shownValue(tt.in); got != tt.want {
				t.Errorf("shownValue(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}
