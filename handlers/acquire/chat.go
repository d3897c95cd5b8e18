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

// addMessageRequest is the body of POST .../chat/add-message. Acquire's
// example nests type, message and translateLangKey in a message object; its
// parameter table also lists them at the top level with message as a string,
// so both are read. Each field is kept raw so that every bad one is named.
type addMessageRequest struct {
	Channel          json.RawMessage `json:"channel"`
	CaseID           json.RawMessage `json:"caseId"`
	ContactID        json.RawMessage `json:"contactId"`
	Message          json.RawMessage `json:"message"`
	Type             json.RawMessage `json:"type"`
	TranslateLangKey json.RawMessage `json:"translateLangKey"`
}

// messageRequest is the message object of addMessageRequest.
type messageRequest struct {
	Type             json.RawMessage `json:"type"`
	Message          json.RawMessage `json:"message"`
	TranslateLangKey json.RawMessage `json:"translateLangKey"`
}

// contactRef is a contactId the client sent: Raw as sent, ID when it fits an
// int64.
type contactRef struct {
	Raw  string
	ID   int64
	Huge bool
}

// addMessageInput is a checked add-message request.
type addMessageInput struct {
	CaseID    int64
	CaseRaw   string
	CaseHuge  bool
	ContactID *contactRef
	UserType  string
	Kind      models.Kind
	Text      string
	Lang      string
}

// readJSONObject reads the request body, which must be one JSON object. It
// returns the body, the body limit's 413, or an ERROR_INVALID_INPUT for an
// empty body, malformed JSON, a value that is not an object, or strings that
// are not UTF-8 and keys given twice in one object (see jsonbody.Check;
// encoding/json would take them lossily), each named by its JSON path.
func readJSONObject(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, invalidInput("the request body could not be read")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, invalidInput("the request body is empty: send a JSON object")
	}
	var je *jsonbody.Error
	switch err := jsonbody.Check(trimmed); {
	case errors.As(err, new(*jsonbody.SyntaxError)):
		// encoding/json says what is wrong, in the words clients know.
		var v any
		err := json.Unmarshal(trimmed, &v)
		return nil, invalidInput("the request body is not valid JSON: %v", err)
	case trimmed[0] != '{':
		return nil, invalidInput("the request body must be a JSON object")
	case errors.As(err, &je):
		var fe fieldErrors
		for _, p := range je.Problems {
			name := p.Path.String()
			if name == "" {
				name = "body"
			}
			if p.Kind == jsonbody.DuplicateKey {
				fe.add(name, "is given more than once")
			} else {
				fe.add(name, "must be valid UTF-8 text")
			}
		}
		return nil, fe.err()
	}
	return trimmed, nil
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
	body, err := readJSONObject(c)
	if err != nil {
		return addMessageInput{}, err
	}
	var req addMessageRequest
	if err := unmarshalFields(body, &req); err != nil {
		return addMessageInput{}, invalidInput("the request body is not valid JSON: %v", err)
	}
	var fe fieldErrors
	in := addMessageInput{UserType: parseUserType(c, &fe)}

	if s, present, ok := jsonString(req.Channel); present && (!ok || s != "chat") {
		fe.add("channel", `must be "chat" on this route`)
	}

	switch id, st := jsonID(req.CaseID); st {
	case idMissing:
		fe.add("caseId", "is required")
	case idBad:
		fe.add("caseId", "must be a positive integer")
	case idHuge:
		in.CaseHuge, in.CaseRaw = true, strings.TrimSpace(string(req.CaseID))
	default:
		in.CaseID, in.CaseRaw = id, strings.TrimSpace(string(req.CaseID))
	}

	in.ContactID = parseContactRef(&fe, c.QueryParam("contactId"), req.ContactID)

	// The message: an object with type, message and translateLangKey, as
	// Acquire's page documents it ("message*: object"); type and
	// translateLangKey may be at the top level instead.
	var textRaw, typeRaw, langRaw json.RawMessage
	parts := false // whether the message's parts are to be checked
	textField, typeField, langField := "message", "type", "translateLangKey"
	msg := bytes.TrimSpace(req.Message)
	switch {
	case len(msg) == 0 || string(msg) == "null":
		fe.add("message", "is required")
	case msg[0] == '"':
		// The parameter table also lists a string "message", but the body
		// the page shows, and its required field, are the object: a string
		// is refused rather than guessed at.
		fe.add("message", `must be a message object such as {"type":"message","message":"Hello"}, not a string`)
	case msg[0] == '{':
		var m messageRequest
		if err := unmarshalFields(msg, &m); err != nil {
			fe.add("message", "must be a message object or a string")
			break
		}
		parts, textRaw, textField = true, m.Message, "message.message"
		typeRaw, typeField = m.Type, "message.type"
		if _, present, _ := jsonString(typeRaw); !present {
			typeRaw, typeField = req.Type, "type"
			if _, present, _ := jsonString(typeRaw); !present {
				typeField = "message.type"
			}
		}
		langRaw, langField = m.TranslateLangKey, "message.translateLangKey"
		if _, present, _ := jsonString(langRaw); !present {
			langRaw, langField = req.TranslateLangKey, "translateLangKey"
		}
	default:
		fe.add("message", "must be a message object or a string")
	}
	if parts {
		switch s, present, ok := jsonString(textRaw); {
		case !present:
			fe.add(textField, "is required")
		case !ok:
			fe.add(textField, "must be a string")
		case strings.TrimSpace(s) == "":
			fe.add(textField, "must not be blank")
		case !cleanText(s):
			fe.add(textField, "must not contain NUL characters")
		case checkLength(&fe, textField, s, models.MaxTextLen):
			in.Text = s
		}
		switch s, present, ok := jsonString(typeRaw); {
		case !present:
			fe.add(typeField, "is required")
		case !ok || !models.Kind(s).Valid():
			fe.add(typeField, "must be one of message, note, event")
		case in.UserType == userTypeContact && models.Kind(s) != models.KindMessage:
			fe.add(typeField, "a contact can send only type message, not %q", s)
		default:
			in.Kind = models.Kind(s)
		}
		switch s, present, ok := jsonString(langRaw); {
		case !present:
		case !ok:
			fe.add(langField, "must be a string")
		case !validLangKey(s):
			fe.add(langField, "must be a language code such as en or pt-BR")
		default:
			in.Lang = s
		}
	}
	return in, fe.err()
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

// parseContactRef reads the optional contactId from the query or the body;
// when both are given they must agree. It returns nil when neither is given.
func parseContactRef(fe *fieldErrors, query string, body json.RawMessage) *contactRef {
	var refs []contactRef
	if query != "" {
		switch id, st := parseID(query); st {
		case idBad:
			fe.add("contactId", "must be a positive integer")
			return nil
		default:
			refs = append(refs, contactRef{Raw: query, ID: id, Huge: st == idHuge})
		}
	}
	switch id, st := jsonID(body); st {
	case idMissing:
	case idBad:
		fe.add("contactId", "must be a positive integer")
		return nil
	default:
		refs = append(refs, contactRef{Raw: strings.TrimSpace(string(body)), ID: id, Huge: st == idHuge})
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
func (a *api) checkContact(ctx context.Context, accountID, caseID int64, ref *contactRef) error {
	if ref == nil {
		return nil
	}
	v, err := a.store.Case(ctx, accountID, caseID)
	if err != nil {
		return errkind.Lookup(err, "case", strconv.FormatInt(caseID, 10))
	}
	if ref.Huge || ref.ID != v.ContactID {
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
