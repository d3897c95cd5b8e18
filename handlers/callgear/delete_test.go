package callgear_test

import (
	"net/http"
	"slices"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

func TestDelete_RoundTrip(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		item := f.offlineItem()
		offline := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token,
			"offline_messages": []any{item, with(item, "message", "two"), with(item, "message", "three")}}))
		chats := mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{f.chatItem()}}))

		// A list, given in any order (and an id twice), deletes each once.
		del := []int64{offline[2], offline[0], offline[2]}
		got := mustIDs(t, f.call(t, "delete.offline_messages", obj{"access_token": f.token, "id": del}))
		if want := []int64{offline[2], offline[0]}; !slices.Equal(got, want) {
			t.Errorf("deleted %v, want %v", got, want)
		}
		for _, id := range []int64{offline[0], offline[2]} {
			if r := f.basicGet(t, path("/api/offlinemessages/%d", id)); r.status != http.StatusNotFound {
				t.Errorf("REVE offline message %d after delete = %d %s, want 404", id, r.status, r.body)
			}
		}
		if r := f.basicGet(t, path("/api/offlinemessages/%d", offline[1])); r.status != http.StatusOK {
			t.Errorf("REVE offline message %d = %d, want it kept", offline[1], r.status)
		}
		// Deleted is gone: deleting again is not found.
		before := f.counts(t)
		assertError(t, f.call(t, "delete.offline_messages", obj{"access_token": f.token, "id": offline[0]}), http.StatusOK, -32602, "entity_not_found", "id")
		f.assertUnchanged(t, before)

		// A single id.
		if got := mustIDs(t, f.call(t, "delete.chats", obj{"access_token": f.token, "id": chats[0]})); !slices.Equal(got, chats) {
			t.Errorf("deleted chats %v, want %v", got, chats)
		}
		if r := f.bearerGet(t, path("/v1/chats/%d", chats[0]), f.token); r.status != http.StatusNotFound {
			t.Errorf("HelpCrunch chat after delete = %d %s, want 404", r.status, r.body)
		}
		after := f.counts(t)
		if after.cases != before.cases-1 || after.messages != before.messages-2 {
			t.Errorf("delete.chats: before %+v, after %+v; want the case and its 2 messages gone", before, after)
		}
	})
}

func TestDelete_Errors(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		offline := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.token, "offline_messages": []any{f.offlineItem()}}))
		chats := mustIDs(t, f.call(t, "upload.chats", obj{"access_token": f.token, "chats": []any{f.chatItem()}}))
		foreign := mustIDs(t, f.call(t, "upload.offline_messages", obj{"access_token": f.foreignToken,
			"offline_messages": []any{with(f.offlineItem(), "site_id", f.foreignSite.ID)}}))
		many := make([]any, 501)
		for i := range many {
			many[i] = offline[0]
		}
		tests := []struct {
			method   string
			name     string
			id       any
			mnemonic string
			field    string
		}{
			{"delete.offline_messages", "no id", nil, "required_parameter_missed", "id"},
			{"delete.offline_messages", "id a string", "5", "data_type_error", "id"},
			{"delete.offline_messages", "id an object", obj{"id": 5}, "data_type_error", "id"},
			{"delete.offline_messages", "id zero", 0, "invalid_parameter_value", "id"},
			{"delete.offline_messages", "id a fraction", raw("2.5"), "invalid_parameter_value", "id"},
			{"delete.offline_messages", "empty list", []any{}, "invalid_parameter_value", "id"},
			{"delete.offline_messages", "501 ids", many, "data_limit_exceeded", "id"},
			{"delete.offline_messages", "a string in the list", []any{offline[0], "x"}, "data_type_error", "id[1]"},
			{"delete.offline_messages", "a negative id in the list", []any{offline[0], -3}, "invalid_parameter_value", "id[1]"},
			{"delete.offline_messages", "too large for any row", []any{offline[0], raw("99999999999999999999")}, "entity_not_found", "id[1]"},
			{"delete.offline_messages", "unknown id", 999999, "entity_not_found", "id"},
			{"delete.offline_messages", "one unknown id in the list", []any{offline[0], 999999}, "entity_not_found", "id[1]"},
			{"delete.offline_messages", "a chat", chats[0], "entity_not_found", "id"},
			{"delete.offline_messages", "not uploaded", f.notUploaded.ID, "entity_not_found", "id"},
			{"delete.offline_messages", "another account's", []any{foreign[0]}, "entity_not_found", "id[0]"},
			{"delete.chats", "an offline message", []any{chats[0], offline[0]}, "entity_not_found", "id[1]"},
		}
		for _, tt := range tests {
			t.Run(tt.method+"/"+tt.name, func(t *testing.T) {
				before := f.counts(t)
				assertError(t, f.call(t, tt.method, with(obj{"access_token": f.token}, "id", tt.id)), http.StatusOK, -32602, tt.mnemonic, tt.field)
				f.assertUnchanged(t, before)
			})
		}
		t.Run("unexpected parameter", func(t *testing.T) {
			assertError(t, f.call(t, "delete.chats", obj{"access_token": f.token, "id": chats[0], "ids": []any{1}}),
				http.StatusOK, -32602, "unexpected_parameters", "ids")
		})
	})
}
