package acquire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// The x-user-type values: who a message is from.
const (
	userTypeUser    = "user"
	userTypeContact = "contact"
)

// addMessageInput is a checked add-message request.
type addMessageInput struct {
	CaseID    int64
	CaseRaw   string
	CaseHuge  bool
	ContactID *jsonbody.ID
	UserType  string
	Kind      models.Kind
	Text      string
	Lang      string
}

// readJSONObject reads the request body, which must be one JSON object,
// and returns its reader, whose getters record their problems in fe in
// Acquire's words (fieldErrors.report). It returns the body limit's 413, or
// an ERROR_INVALID_INPUT for an empty body, malformed JSON, a value that is
// not an object, or strings that are not UTF-8 and keys given twice in one
// object (see jsonbody.Check; encoding/json would take them lossily), each
// named by its JSON path.
func readJSONObject(c echo.Context, fe *fieldErrors) (*jsonbody.Object, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, invalidInput("the request body could not be read")
	}
	obj, err := jsonbody.Parse(body, fe.report)
	trimmed := bytes.TrimSpace(body)
	var je *jsonbody.Error
	switch {
	case errors.Is(err, jsonbody.ErrEmpty):
		return nil, invalidInput("the request body is empty: send a JSON object")
	case errors.As(err, new(*jsonbody.SyntaxError)):
		// encoding/json says what is wrong, in the words clients know.
		var v any
		err := json.Unmarshal(trimmed, &v)
		return nil, invalidInput("the request body is not valid JSON: %v", err)
	case err != nil && trimmed[0] != '{':
		return nil, invalidInput("the request body must be a JSON object")
	case errors.As(err, &je):
		var bad fieldErrors
		for _, p := range je.Problems {
			name := p.Path.String()
			if name == "" {
				name = "body"
			}
			if p.Kind == jsonbody.DuplicateKey {
				bad.add(name, "is given more than once")
			} else {
				bad.add(name, "must be valid UTF-8 text")
			}
		}
		return nil, bad.err()
	}
	return obj, err
}

// report words a problem the body's reader found as Acquire does, named by
// its path ("message.message", "to[2]").
func (fe *fieldErrors) report(f jsonbody.FieldError) {
	name := f.Path.Full()
	switch f.Kind {
	case jsonbody.Missing:
		fe.add(name, "is required")
	case jsonbody.WrongType:
		switch f.Want {
		case "number":
			// Only ids are read as numbers.
			fe.add(name, "must be a positive integer")
		case "array", "object":
			fe.add(name, "must be an %s", f.Want)
		default:
			fe.add(name, "must be a %s", f.Want)
		}
	case jsonbody.NotInteger, jsonbody.NotPositive:
		fe.add(name, "must be a positive integer")
	case jsonbody.HasNUL:
		fe.add(name, "must not contain NUL characters")
	default:
		fe.add(name, "is not valid")
	}
}

// cleanText reports whether s can be stored as text on every backend: valid
// UTF-8 without NUL characters (PostgreSQL refuses both).
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// checkLength records field when s has more than max characters; it returns
// whether s is within the limit.
func checkLength(fe *fieldErrors, field, s string, max int) bool {
	if models.TooLong(s, max) {
		fe.add(field, "must be at most %d characters, not %d", max, utf8.RuneCountInString(s))
		return false
	}
	return true
}

// checkLine records field when s, one line of text (a name, an address, a
// subject), holds a control character (tab and line breaks included); it
// returns whether s has none.
func checkLine(fe *fieldErrors, field, s string) bool {
	if models.HasControl(s) {
		fe.add(field, "must not contain control characters")
		return false
	}
	return true
}

// parseAddMessage checks an add-message request: the body, the x-user-type
// header or query parameter and the contactId query parameter. It returns
// one ERROR_INVALID_INPUT naming every bad field.
func parseAddMessage(c echo.Context) (addMessageInput, error) {
	var fe fieldErrors
	obj, err := readJSONObject(c, &fe)
	if err != nil {
		return addMessageInput{}, err
	}
	in := addMessageInput{UserType: parseUserType(c, &fe)}

	if v, ok := obj.Value("channel"); ok && v != "chat" {
		fe.add("channel", `must be "chat" on this route`)
	}
	if id, ok := obj.ID("caseId"); ok {
		in.CaseRaw, in.CaseHuge = id.Raw, id.Huge
		if !id.Huge {
			in.CaseID = id.N
		}
	}
	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), obj)
	if in.UserType == userTypeContact && c.QueryParam("contactId") == "" && !obj.Has("contactId") {
		// The page marks contactId required; an agent's message names its
		// case alone, but a contact's must say which contact writes.
		fe.add("contactId", "is required for x-user-type contact")
	}

	// The message: an object with type, message and translateLangKey, as
	// Acquire's page documents it ("message*: object"); type and
	// translateLangKey may be at the top level instead.
	switch v, _ := obj.Value("message"); v.(type) {
	case nil:
		fe.add("message", "is required")
	case string:
		// The parameter table also lists a string "message", but the body
		// the page shows, and its required field, are the object: a string
		// is refused rather than guessed at.
		fe.add("message", `must be a message object such as {"type":"message","message":"Hello"}, not a string`)
	case map[string]any:
		msg, _ := obj.Object("message", true)
		readMessageParts(&fe, &in, obj, msg)
	default:
		fe.add("message", "must be a message object or a string")
	}
	return in, fe.err()
}

// readMessageParts reads the text, type and translateLangKey of the message
// object msg of the add-message body obj, taking type and translateLangKey
// from obj when msg lacks them.
func readMessageParts(fe *fieldErrors, in *addMessageInput, obj, msg *jsonbody.Object) {
	if s, ok := msg.Text("message"); ok {
		switch {
		case strings.TrimSpace(s) == "":
			fe.add(msg.Name("message"), "must not be blank")
		case checkLength(fe, msg.Name("message"), s, models.MaxTextLen):
			in.Text = s
		}
	}
	typeObj := msg
	if !msg.Has("type") && obj.Has("type") {
		typeObj = obj
	}
	typeField := typeObj.Name("type")
	v, present := typeObj.Value("type")
	s, isString := v.(string)
	switch {
	case !present:
		fe.add(typeField, "is required")
	case !isString || !models.Kind(s).Valid():
		fe.add(typeField, "must be one of message, note, event")
	case in.UserType == userTypeContact && models.Kind(s) != models.KindMessage:
		fe.add(typeField, "a contact can send only type message, not %q", s)
	default:
		in.Kind = models.Kind(s)
	}
	langObj := msg
	if !msg.Has("translateLangKey") {
		langObj = obj
	}
	if s, ok := langObj.OptionalString("translateLangKey"); ok {
		if validLangKey(s) {
			in.Lang = s
		} else {
			fe.add(langObj.Name("translateLangKey"), "must be a language code such as en or pt-BR")
		}
	}
}

// parseUserType reads x-user-type from the header, else the query string, in
// any case. It returns userTypeUser when it is absent or not valid (and then
// records the field as bad), else userTypeContact for "contact".
func parseUserType(c echo.Context, fe *fieldErrors) string {
	ut := strings.TrimSpace(c.Request().Header.Get("x-user-type"))
	if ut == "" {
		ut = strings.TrimSpace(c.QueryParam("x-user-type"))
	}
	switch strings.ToLower(ut) {
	case "", userTypeUser:
		return userTypeUser
	case userTypeContact:
		return userTypeContact
	}
	fe.add("x-user-type", "must be user or contact, not %q", shorten(ut))
	return userTypeUser
}

// parseContactRef reads the optional contactId from the query or the body
// obj; when both are given they must agree. It returns nil when neither is
// given, or after recording a bad one.
func parseContactRef(fe *fieldErrors, query string, obj *jsonbody.Object) *jsonbody.ID {
	var refs []jsonbody.ID
	if query != "" {
		id, st := parseID(query)
		if st == idBad {
			fe.add("contactId", "must be a positive integer")
			return nil
		}
		refs = append(refs, jsonbody.ID{N: id, Raw: query, Huge: st == idHuge})
	}
	if obj.Has("contactId") {
		id, ok := obj.OptionalID("contactId")
		if !ok {
			return nil
		}
		refs = append(refs, id)
	}
	switch {
	case len(refs) == 0:
		return nil
	case len(refs) == 2 && strings.TrimLeft(refs[0].Raw, "0") != strings.TrimLeft(refs[1].Raw, "0"):
		fe.add("contactId", "the query says %s and the body says %s", shorten(refs[0].Raw), shorten(refs[1].Raw))
		return nil
	}
	return &refs[0]
}

// validLangKey reports whether s looks like a language code: letters, digits,
// '-' and '_', up to models.MaxLangLen characters. An empty key means none.
func validLangKey(s string) bool {
	if len(s) > models.MaxLangLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// addChatMessage serves POST /api/v1/crm/messenger/chat/add-message: it adds
// a message to an active case as the key's agent (x-user-type user) or as the
// case's contact (contact), and answers with the message and its case.
func (a *api) addChatMessage(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	in, err := parseAddMessage(c)
	if err != nil {
		return err
	}
	if in.CaseHuge {
		return errkind.Lookup(store.ErrNotFound, "case", shorten(in.CaseRaw))
	}
	ctx := c.Request().Context()
	if err := a.checkContact(ctx, cl.AccountID, in.CaseID, in.ContactID); err != nil {
		return err
	}
	nm := store.NewMessage{Sender: models.SenderContact, Kind: in.Kind, Text: in.Text, Lang: in.Lang, WithCase: true}
	if in.UserType == userTypeUser {
		agentID := cl.AgentID
		nm.Sender, nm.AgentID = models.SenderAgent, &agentID
	}
	m, err := a.store.AddMessage(ctx, cl.AccountID, in.CaseID, nm)
	if err != nil {
		return errkind.Lookup(err, "case", strconv.FormatInt(in.CaseID, 10))
	}
	return c.JSON(http.StatusOK, dataBody[messageObject]{Data: toAddedMessage(m, *m.Case)})
}

// checkContact checks a contactId the client gave (nil when it gave none)
// against the case. It returns nil when the contact is the case's, Acquire's
// 400 "Case N not found" for an unknown case, an ERROR_INVALID_INPUT naming
// contactId for another contact, and the store's other errors.
func (a *api) checkContact(ctx context.Context, accountID, caseID int64, ref *jsonbody.ID) error {
	if ref == nil {
		return nil
	}
	v, err := a.store.Case(ctx, accountID, caseID)
	if err != nil {
		return errkind.Lookup(err, "case", strconv.FormatInt(caseID, 10))
	}
	if ref.Huge || ref.N != v.ContactID {
		return invalidInput("contactId: contact %s is not the contact of case %d", shorten(ref.Raw), caseID)
	}
	return nil
}

// listChatMessages serves GET /api/v1/crm/messenger/chat/messages: the thread
// (case) threadId of contact contactId with its messages, oldest first, at
// most store.MaxLimit of them. A parameter asking for a filter or a sort is
// refused.
func (a *api) listChatMessages(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var fe fieldErrors
	contactRaw, threadRaw := c.QueryParam("contactId"), c.QueryParam("threadId")
	contactID, cst := parseID(contactRaw)
	threadID, tst := parseID(threadRaw)
	for _, p := range []struct {
		name string
		st   idState
	}{{"contactId", cst}, {"threadId", tst}} {
		switch p.st {
		case idMissing:
			fe.add(p.name, "is required")
		case idBad:
			fe.add(p.name, "must be a positive integer")
		}
	}
	refuseFilters(c, &fe, []string{"contactId", "threadId", "x-user-type"}, messageColumns())
	if err := fe.err(); err != nil {
		return err
	}
	thread := shorten(threadRaw) + " of contact " + shorten(contactRaw)
	if cst == idHuge || tst == idHuge {
		return errkind.Lookup(store.ErrNotFound, "thread", thread)
	}
	ctx := c.Request().Context()
	v, err := a.store.Case(ctx, cl.AccountID, threadID)
	if err == nil && v.ContactID != contactID {
		// Another contact's thread is not found either.
		err = store.ErrNotFound
	}
	if err != nil {
		return errkind.Lookup(err, "thread", thread)
	}
	msgs, _, err := a.store.ListMessages(ctx, cl.AccountID, threadID, store.MessageQuery{Limit: store.MaxLimit, Oldest: true})
	if err != nil {
		return errkind.Lookup(err, "thread", thread)
	}
	return c.JSON(http.StatusOK, dataBody[[]caseWithMessages]{Data: []caseWithMessages{toThread(v, msgs)}})
}
