package helpcrunch_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// departmentJSON is the department object HelpCrunch shows for d.
func departmentJSON(d models.Department) string {
	return fmt.Sprintf(`{"id":%d,"name":%q}`, d.ID, d.Name)
}

// assigneeCount returns the store's count of the agent's chats
// (assignee_day_counts), summed over every day.
func (f *fixture) assigneeCount(t *testing.T, agentID int64) int64 {
	t.Helper()
	var n int64
	if err := f.st.GORM().Raw(`SELECT COALESCE(SUM(n), 0) FROM assignee_day_counts WHERE agent_id = ?`, agentID).
		Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// chatOf finds the chat with the id in a chat list.
func chatOf(t *testing.T, list map[string]any, chatID int64) map[string]any {
	t.Helper()
	data, _ := list["data"].([]any)
	for _, d := range data {
		if c := d.(map[string]any); id(t, c["id"]) == chatID {
			return c
		}
	}
	t.Fatalf("chat %d is not in the list", chatID)
	return nil
}

func TestChats_SetAssignee(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chatPath := fmt.Sprint("/v1/chats/", f.chat.ID)
		steps := []struct {
			name, path, body string
			want             *models.Agent
			counts           [2]int64 // of f.agent and f.boss after
		}{
			{"to another agent", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.boss.ID), &f.boss, [2]int64{0, 1}},
			{"unassign with null", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":null}`, f.chat.ID), nil, [2]int64{0, 0}},
			{"per chat", chatPath + "/assignee", fmt.Sprintf(`{"assignee":%d}`, f.agent.ID), &f.agent, [2]int64{1, 0}},
			{"per chat with the same id in the body", chatPath + "/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.boss.ID), &f.boss, [2]int64{0, 1}},
			{"per chat with a null id", chatPath + "/assignee", `{"id":null,"assignee":null}`, nil, [2]int64{0, 0}},
			{"the same agent twice", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.agent.ID), &f.agent, [2]int64{1, 0}},
			{"again", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.agent.ID), &f.agent, [2]int64{1, 0}},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodPut, tt.path, f.chatToken, tt.body))
				got := mustOK(t, f.do(t, http.MethodGet, chatPath, f.token, ""))
				assertJSON(t, mustJSON(t, r), mustJSON(t, got))
				want, agents := "null", "[]"
				if tt.want != nil {
					want, agents = agentJSON(*tt.want), "["+agentJSON(*tt.want)+"]"
				}
				assertJSON(t, mustJSON(t, r["assignee"]), want)
				assertJSON(t, mustJSON(t, r["agents"]), agents)
				if c := [2]int64{f.assigneeCount(t, f.agent.ID), f.assigneeCount(t, f.boss.ID)}; c != tt.counts {
					t.Errorf("chat counts of agent, boss = %v, want %v", c, tt.counts)
				}
			})
		}
		t.Run("an offline message", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/assignee", f.token, fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.offline.ID, f.boss.ID)))
			assertJSON(t, mustJSON(t, r["assignee"]), agentJSON(f.boss))
		})
		chatNotFound := hcErrors("chat_not_found", "Chat not found")
		agentNotFound := hcErrors("entity_not_found", "Agent not found")
		errs := []struct {
			name, path, body string
			status           int
			want             string
		}{
			{"assignee missing", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d}`, f.chat.ID), 400, hcErrors("assignee", blank)},
			{"everything missing", "/v1/chats/assignee", `{}`, 400, hcErrors("id", blank, "assignee", blank)},
			{"wrong types", "/v1/chats/assignee", `{"id":"5","assignee":"boss"}`, 400, hcErrors("id", numeric, "assignee", numeric)},
			{"fraction and zero", "/v1/chats/assignee", `{"id":1.5,"assignee":0}`, 400, hcErrors("id", numeric, "assignee", positive)},
			{"assignee an object", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":{"id":%d}}`, f.chat.ID, f.boss.ID), 400, hcErrors("assignee", numeric)},
			{"id null", "/v1/chats/assignee", fmt.Sprintf(`{"id":null,"assignee":%d}`, f.boss.ID), 400, hcErrors("id", blank)},
			{"chat unknown", "/v1/chats/assignee", fmt.Sprintf(`{"id":987654321,"assignee":%d}`, f.boss.ID), 404, chatNotFound},
			{"chat huge", "/v1/chats/assignee", `{"id":99999999999999999999,"assignee":null}`, 404, chatNotFound},
			{"chat of another account", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":null}`, f.foreignCase.ID), 404, chatNotFound},
			{"agent unknown", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":987654321}`, f.chat.ID), 404, agentNotFound},
			{"agent huge", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":99999999999999999999}`, f.chat.ID), 404, agentNotFound},
			{"agent of another account", "/v1/chats/assignee", fmt.Sprintf(`{"id":%d,"assignee":%d}`, f.chat.ID, f.foreignAgent.ID), 404, agentNotFound},
			{"per chat, another id in the body", chatPath + "/assignee", fmt.Sprintf(`{"id":%d,"assignee":null}`, f.offline.ID), 400,
				hcErrors("id", "This value should be equal to "+strconv.FormatInt(f.chat.ID, 10)+".")},
			{"per chat, a huge id in the body and a bad assignee", chatPath + "/assignee", `{"id":99999999999999999999,"assignee":"x"}`, 400,
				hcErrors("id", "This value should be equal to "+strconv.FormatInt(f.chat.ID, 10)+".", "assignee", numeric)},
			{"per chat, id a string", chatPath + "/assignee", `{"id":"1","assignee":null}`, 400, hcErrors("id", numeric)},
			{"per chat, assignee missing", chatPath + "/assignee", `{}`, 400, hcErrors("assignee", blank)},
			{"per chat, path not a number", "/v1/chats/abc/assignee", `{"assignee":null}`, 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"per chat, path zero", "/v1/chats/0/assignee", `{"assignee":"x"}`, 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"per chat, path huge", "/v1/chats/99999999999999999999/assignee", `{"assignee":null}`, 404, chatNotFound},
			{"per chat, unknown chat", "/v1/chats/987654321/assignee", `{"assignee":null}`, 404, chatNotFound},
			{"per chat, another account's chat", fmt.Sprint("/v1/chats/", f.foreignCase.ID, "/assignee"), `{"assignee":null}`, 404, chatNotFound},
			{"per chat, agent of another account", chatPath + "/assignee", fmt.Sprintf(`{"assignee":%d}`, f.foreignAgent.ID), 404, agentNotFound},
			{"empty body", "/v1/chats/assignee", ``, 400, hcErrors("body", "The request body should not be empty.")},
			{"not an object", chatPath + "/assignee", `[1]`, 400, hcErrors("body", "The request body should be a JSON object.")},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				before := [2]int64{f.assigneeCount(t, f.agent.ID), f.assigneeCount(t, f.boss.ID)}
				assertError(t, f.do(t, http.MethodPut, tt.path, f.token, tt.body), tt.status, tt.want)
				if after := [2]int64{f.assigneeCount(t, f.agent.ID), f.assigneeCount(t, f.boss.ID)}; after != before {
					t.Errorf("chat counts went from %v to %v", before, after)
				}
			})
		}
		t.Run("the chat keeps its assignee", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, chatPath, f.token, ""))
			assertJSON(t, mustJSON(t, r["assignee"]), agentJSON(f.agent))
		})
		t.Run("a read key may not", func(t *testing.T) {
			assertError(t, f.do(t, http.MethodPut, "/v1/chats/assignee", f.readToken, fmt.Sprintf(`{"id":%d,"assignee":null}`, f.chat.ID)),
				http.StatusForbidden, needsChat)
		})
	})
}

func TestChats_SetDepartment(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		support := storetest.MustDepartment(t, st, f.acct.ID, "Support")
		chatPath := fmt.Sprint("/v1/chats/", f.chat.ID)
		steps := []struct {
			name, path, body string
			want             *models.Department
		}{
			{"into a department", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":%d}`, f.chat.ID, f.sales.ID), &f.sales},
			{"clear with null", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":null}`, f.chat.ID), nil},
			{"per chat", chatPath + "/department", fmt.Sprintf(`{"department":%d}`, support.ID), &support},
			{"per chat with the same id", chatPath + "/department", fmt.Sprintf(`{"id":%d,"department":%d}`, f.chat.ID, f.sales.ID), &f.sales},
			{"per chat, clear", chatPath + "/department", `{"department":null}`, nil},
			{"back into one", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":%d}`, f.chat.ID, f.sales.ID), &f.sales},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodPut, tt.path, f.token, tt.body))
				want := "null"
				if tt.want != nil {
					want = departmentJSON(*tt.want)
				}
				assertJSON(t, mustJSON(t, r["department"]), want)
				got := mustOK(t, f.do(t, http.MethodGet, chatPath, f.token, ""))
				assertJSON(t, mustJSON(t, got), mustJSON(t, r))
			})
		}
		t.Run("shown in the list and the search", func(t *testing.T) {
			list := mustOK(t, f.do(t, http.MethodGet, "/v1/chats", f.token, ""))
			assertJSON(t, mustJSON(t, chatOf(t, list, f.chat.ID)["department"]), departmentJSON(f.sales))
			if d := chatOf(t, list, f.offline.ID)["department"]; d != nil {
				t.Errorf("offline message department = %v, want null", d)
			}
			found := mustOK(t, f.do(t, http.MethodPost, "/v1/chats/search", f.token, `{}`))
			assertJSON(t, mustJSON(t, chatOf(t, found, f.chat.ID)["department"]), departmentJSON(f.sales))
		})
		chatNotFound := hcErrors("chat_not_found", "Chat not found")
		departmentNotFound := hcErrors("entity_not_found", "Department not found")
		errs := []struct {
			name, path, body string
			status           int
			want             string
		}{
			{"department missing", "/v1/chats/department", fmt.Sprintf(`{"id":%d}`, f.chat.ID), 400, hcErrors("department", blank)},
			{"wrong types", "/v1/chats/department", `{"id":true,"department":"Sales"}`, 400, hcErrors("id", numeric, "department", numeric)},
			{"negative", "/v1/chats/department", `{"id":-1,"department":-2}`, 400, hcErrors("id", positive, "department", positive)},
			{"department an object", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":{"id":%d,"name":"Sales"}}`, f.chat.ID, f.sales.ID), 400, hcErrors("department", numeric)},
			{"chat unknown", "/v1/chats/department", fmt.Sprintf(`{"id":987654321,"department":%d}`, f.sales.ID), 404, chatNotFound},
			{"chat of another account", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":null}`, f.foreignCase.ID), 404, chatNotFound},
			{"department unknown", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":987654321}`, f.chat.ID), 404, departmentNotFound},
			{"department huge", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":99999999999999999999}`, f.chat.ID), 404, departmentNotFound},
			{"department of another account", "/v1/chats/department", fmt.Sprintf(`{"id":%d,"department":%d}`, f.chat.ID, f.foreignDepartment.ID), 404, departmentNotFound},
			{"unknown chat and department", "/v1/chats/department", `{"id":987654321,"department":987654321}`, 404, chatNotFound},
			{"per chat, another id in the body", chatPath + "/department", fmt.Sprintf(`{"id":%d,"department":null}`, f.offline.ID), 400,
				hcErrors("id", "This value should be equal to "+strconv.FormatInt(f.chat.ID, 10)+".")},
			{"per chat, path not a number", "/v1/chats/x1/department", `{"department":null}`, 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"per chat, unknown chat", "/v1/chats/987654321/department", `{"department":null}`, 404, chatNotFound},
			{"per chat, department of another account", chatPath + "/department", fmt.Sprintf(`{"department":%d}`, f.foreignDepartment.ID), 404, departmentNotFound},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPut, tt.path, f.token, tt.body), tt.status, tt.want)
			})
		}
		t.Run("the chat keeps its department", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, chatPath, f.token, ""))
			assertJSON(t, mustJSON(t, r["department"]), departmentJSON(f.sales))
		})
	})
}

func TestChats_Snooze(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chatPath := fmt.Sprint("/v1/chats/", f.chat.ID)
		later := time.Now().Add(48 * time.Hour).Unix()
		laterS := strconv.FormatInt(later, 10)
		past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
		steps := []struct {
			name, body      string
			status, snoozed string // snoozed "" is null
		}{
			{"snooze with a number", fmt.Sprintf(`{"id":%d,"snoozedUntil":%d}`, f.chat.ID, later), "on hold", laterS},
			{"unsnooze with null", fmt.Sprintf(`{"id":%d,"snoozedUntil":null}`, f.chat.ID), "opened", ""},
			{"snooze with a string and a fraction", fmt.Sprintf(`{"id":%d,"snoozedUntil":"%s.913"}`, f.chat.ID, laterS), "on hold", laterS},
			{"a time in the past unsnoozes", fmt.Sprintf(`{"id":%d,"snoozedUntil":%q}`, f.chat.ID, past), "opened", ""},
			{"unsnoozing an unsnoozed chat changes nothing", fmt.Sprintf(`{"id":%d,"snoozedUntil":null}`, f.chat.ID), "opened", ""},
			{"snooze with a number with a fraction", fmt.Sprintf(`{"id":%d,"snoozedUntil":%d.5}`, f.chat.ID, later), "on hold", laterS},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				r := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/snooze", f.chatToken, tt.body))
				var want any
				if tt.snoozed != "" {
					want = tt.snoozed
				}
				if r["status"] != tt.status || r["snoozedUntil"] != want {
					t.Errorf("status %v snoozedUntil %v, want %s %v", r["status"], r["snoozedUntil"], tt.status, want)
				}
				got := mustOK(t, f.do(t, http.MethodGet, chatPath, f.token, ""))
				assertJSON(t, mustJSON(t, got), mustJSON(t, r))
			})
		}
		t.Run("shown in the list", func(t *testing.T) {
			c := chatOf(t, mustOK(t, f.do(t, http.MethodGet, "/v1/chats", f.token, "")), f.chat.ID)
			if c["snoozedUntil"] != laterS || c["status"] != "on hold" {
				t.Errorf("listed chat snoozedUntil %v status %v", c["snoozedUntil"], c["status"])
			}
		})
		t.Run("a status change ends the snooze", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPut, chatPath+"/status", f.token, `{"status":"pending"}`))
			if r["status"] != "pending" || r["snoozedUntil"] != nil {
				t.Errorf("status %v snoozedUntil %v", r["status"], r["snoozedUntil"])
			}
		})
		t.Run("snoozing a closed chat reopens it on hold", func(t *testing.T) {
			mustOK(t, f.do(t, http.MethodPut, "/v1/chats/status", f.token, fmt.Sprintf(`{"id":%d,"status":"closed"}`, f.offline.ID)))
			r := mustOK(t, f.do(t, http.MethodPut, "/v1/chats/snooze", f.token, fmt.Sprintf(`{"id":%d,"snoozedUntil":%q}`, f.offline.ID, laterS)))
			if r["status"] != "on hold" || r["closedAt"] != nil || r["closedBy"] != nil || r["snoozedUntil"] != laterS {
				t.Errorf("status %v closedAt %v closedBy %v snoozedUntil %v", r["status"], r["closedAt"], r["closedBy"], r["snoozedUntil"])
			}
		})
		chatNotFound := hcErrors("chat_not_found", "Chat not found")
		datetime := "This value is not a valid datetime."
		errs := []struct {
			name, body string
			status     int
			want       string
		}{
			{"snoozedUntil missing", fmt.Sprintf(`{"id":%d}`, f.chat.ID), 400, hcErrors("snoozedUntil", blank)},
			{"everything missing", `{}`, 400, hcErrors("id", blank, "snoozedUntil", blank)},
			{"wrong types", `{"id":"x","snoozedUntil":true}`, 400, hcErrors("id", numeric, "snoozedUntil", numeric)},
			{"not a time", fmt.Sprintf(`{"id":%d,"snoozedUntil":"tomorrow"}`, f.chat.ID), 400, hcErrors("snoozedUntil", numeric)},
			{"an empty string", fmt.Sprintf(`{"id":%d,"snoozedUntil":""}`, f.chat.ID), 400, hcErrors("snoozedUntil", numeric)},
			{"an exponent", fmt.Sprintf(`{"id":%d,"snoozedUntil":1e10}`, f.chat.ID), 400, hcErrors("snoozedUntil", datetime)},
			{"past year 9999", fmt.Sprintf(`{"id":%d,"snoozedUntil":"253402300800"}`, f.chat.ID), 400, hcErrors("snoozedUntil", datetime)},
			{"an object", fmt.Sprintf(`{"id":%d,"snoozedUntil":{"at":1}}`, f.chat.ID), 400, hcErrors("snoozedUntil", numeric)},
			{"chat unknown", fmt.Sprintf(`{"id":987654321,"snoozedUntil":%d}`, later), 404, chatNotFound},
			{"chat huge", `{"id":99999999999999999999,"snoozedUntil":null}`, 404, chatNotFound},
			{"chat of another account", fmt.Sprintf(`{"id":%d,"snoozedUntil":%d}`, f.foreignCase.ID, later), 404, chatNotFound},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPut, "/v1/chats/snooze", f.token, tt.body), tt.status, tt.want)
			})
		}
		t.Run("another account's chat is not snoozed", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.foreignCase.ID), f.foreignToken, ""))
			if r["snoozedUntil"] != nil || r["status"] != "new" {
				t.Errorf("foreign chat snoozedUntil %v status %v", r["snoozedUntil"], r["status"])
			}
		})
	})
}

func TestChats_SetStatusByID(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		path := fmt.Sprint("/v1/chats/", f.offline.ID, "/status")
		t.Run("closed", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPut, path, f.token, `{"status":"closed"}`))
			assertRecent(t, "closedAt", r["closedAt"])
			assertJSON(t, mustJSON(t, r["closedBy"]), agentJSON(f.boss))
			got := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.offline.ID), f.token, ""))
			assertJSON(t, mustJSON(t, got), mustJSON(t, r))
		})
		t.Run("the same id in the body", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodPut, path, f.token, fmt.Sprintf(`{"id":%d,"status":"on hold"}`, f.offline.ID)))
			if r["status"] != "on hold" || r["closedAt"] != nil {
				t.Errorf("status %v closedAt %v", r["status"], r["closedAt"])
			}
		})
		chatNotFound := hcErrors("chat_not_found", "Chat not found")
		mismatch := "This value should be equal to " + strconv.FormatInt(f.offline.ID, 10) + "."
		errs := []struct {
			name, path, body string
			status           int
			want             string
		}{
			{"another id in the body", path, fmt.Sprintf(`{"id":%d,"status":"closed"}`, f.chat.ID), 400, hcErrors("id", mismatch)},
			{"another id and a bad status", path, fmt.Sprintf(`{"id":%d,"status":"archived"}`, f.foreignCase.ID), 400, hcErrors("id", mismatch, "status", choice)},
			{"status missing", path, `{}`, 400, hcErrors("status", blank)},
			{"status a number", path, `{"status":1}`, 400, hcErrors("status", typeStr)},
			{"empty is not settable", path, `{"status":"empty"}`, 400, hcErrors("status", choice)},
			{"path not a number", "/v1/chats/abc/status", `{"status":"closed"}`, 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"path negative", "/v1/chats/-1/status", `{"status":"nope"}`, 400, hcErrors("invalid_chat_value", "Invalid chat ID")},
			{"path huge", "/v1/chats/99999999999999999999/status", `{"status":"closed"}`, 404, chatNotFound},
			{"unknown chat", "/v1/chats/987654321/status", `{"status":"closed"}`, 404, chatNotFound},
			{"another account's chat", fmt.Sprint("/v1/chats/", f.foreignCase.ID, "/status"), `{"status":"closed"}`, 404, chatNotFound},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.do(t, http.MethodPut, tt.path, f.token, tt.body), tt.status, tt.want)
			})
		}
		t.Run("the chat is as before", func(t *testing.T) {
			r := mustOK(t, f.do(t, http.MethodGet, fmt.Sprint("/v1/chats/", f.offline.ID), f.token, ""))
			if r["status"] != "on hold" {
				t.Errorf("status = %v", r["status"])
			}
		})
	})
}
