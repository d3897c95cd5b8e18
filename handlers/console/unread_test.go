package console_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"switchboard/handlers/console"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

var (
	unreadTotal   = regexp.MustCompile(`Unread: <strong>([^<]*)</strong>`)
	unreadChannel = regexp.MustCompile(`class="unread-(\w+)[^"]*">\w+ <span class="count">([^<]*)</span>`)
)

// unreadShown returns the unread counts a page shows: "total" and each
// channel's; nil when it shows none.
func unreadShown(body string) map[string]string {
	m := unreadTotal.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	out := map[string]string{"total": m[1]}
	for _, c := range unreadChannel.FindAllStringSubmatch(body, -1) {
		out[c[1]] = c[2]
	}
	return out
}

// counts returns the unread counts a page shows when total are unread, n of
// each channel.
func counts(total string, chat, email, sms, offline string) map[string]string {
	return map[string]string{"total": total, "chat": chat, "email": email, "sms": sms, "offline": offline}
}

func TestConsole_Unread(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := mustFixture(t, st, console.Config{})
		// Every case of the fixture has a contact's message: all unread.
		b := f.browser(t)
		b.signIn("agent@example.com")
		b2 := f.browser(t)
		b2.signIn("boss2@example.com")
		unread := func(t *testing.T, accountID, caseID int64) bool {
			t.Helper()
			cv, err := st.Case(ctx, accountID, caseID)
			if err != nil {
				t.Fatal(err)
			}
			return cv.Unread
		}
		fragment := func(b *browser) page {
			return b.do(http.MethodGet, "/console/unread", nil, http.Header{"Hx-Request": {"true"}})
		}
		steps := []struct {
			name string
			// do acts and returns the page whose counts are checked.
			do         func(t *testing.T) page
			wantStatus int
			want       map[string]string
		}{
			{"the inbox shows the account's counts", func(*testing.T) page { return b.get("/console") },
				http.StatusOK, counts("3", "1", "1", "1", "0")},
			{"the fragment shows the same", func(t *testing.T) page {
				p := fragment(b)
				if !strings.Contains(p.body, `<p id="unread"`) || strings.Contains(p.body, "<html") {
					t.Errorf("the fragment is not the counts' line alone:\n%s", p.body)
				}
				return p
			}, http.StatusOK, counts("3", "1", "1", "1", "0")},
			{"another account sees its own", func(*testing.T) page { return fragment(b2) },
				http.StatusOK, counts("1", "1", "0", "0", "0")},
			{"opening a case marks it read", func(t *testing.T) page {
				b.get(fmt.Sprintf("/console/cases/%d", f.emailCase.ID)).want(t, http.StatusOK, "hello from email")
				if unread(t, f.one.ID, f.emailCase.ID) {
					t.Error("the opened case is unread")
				}
				return fragment(b)
			}, http.StatusOK, counts("2", "1", "0", "1", "0")},
			{"an open case's reloads leave a new message unread", func(t *testing.T) page {
				if _, err := st.AddMessage(ctx, f.one.ID, f.emailCase.ID, store.NewMessage{Sender: models.SenderContact,
					Kind: models.KindMessage, Text: "one more thing"}); err != nil {
					t.Fatal(err)
				}
				b.get(fmt.Sprintf("/console/cases/%d/messages", f.emailCase.ID)).want(t, http.StatusOK, "one more thing")
				return fragment(b)
			}, http.StatusOK, counts("3", "1", "1", "1", "0")},
			{"an agent's reply takes its case off", func(t *testing.T) page {
				p := b.post(fmt.Sprintf("/console/cases/%d/reply", f.annCase.ID), url.Values{"text": {"on it"}})
				if p.status != http.StatusSeeOther {
					t.Fatalf("reply: %d\n%s", p.status, p.body)
				}
				return b.get("/console")
			}, http.StatusOK, counts("2", "0", "1", "1", "0")},
			{"another account's case is not found and stays unread", func(t *testing.T) page {
				b.get(fmt.Sprintf("/console/cases/%d", f.otherCase.ID)).want(t, http.StatusNotFound)
				if !unread(t, f.two.ID, f.otherCase.ID) {
					t.Error("account two's case was marked read by account one's agent")
				}
				return fragment(b2)
			}, http.StatusOK, counts("1", "1", "0", "0", "0")},
			{"signed out", func(*testing.T) page { return fragment(f.browser(t)) }, http.StatusUnauthorized, nil},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				p := tt.do(t)
				if p.status != tt.wantStatus {
					t.Fatalf("status %d, want %d\n%s", p.status, tt.wantStatus, p.body)
				}
				if got := unreadShown(p.body); !maps.Equal(got, tt.want) {
					t.Errorf("counts shown %v, want %v", got, tt.want)
				}
			})
		}
	})
}
