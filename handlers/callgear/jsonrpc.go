package callgear

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/guard"
	"switchboard/handlers/jsonbody"
)

// version is the JSON-RPC version every request names and every response carries.
const version = "2.0"

// contentType is the Content-Type of every response, as CallGear sends it.
const contentType = "application/json; charset=UTF-8"

// ctxID is where the endpoint keeps the request's id (a json.RawMessage) in
// the echo context once it is read, so that writeAnswer can echo it.
const ctxID = "callgear.id"

// request is a JSON-RPC request as the endpoint reads it.
type request struct {
	// id is the id exactly as the client wrote it: a JSON string or number.
	id     json.RawMessage
	method string
	// params are the method's parameters, numbers kept as json.Number so
	// that each one's type is checked on its own.
	params map[string]any
}

// response is every JSON-RPC response: exactly one of Result and Error is
// set. A nil ID is written as null.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *errorObject    `json:"error,omitempty"`
}

// errorObject is JSON-RPC's error member with CallGear's data.
type errorObject struct {
	Code    int       `json:"code"`
	Message string    `json:"message"`
	Data    errorData `json:"data"`
}

// errorData is CallGear's error data: the mnemonic, and the field and value
// when the error is about one (left out otherwise). params lists every
// problem when there are several.
type errorData struct {
	Mnemonic string    `json:"mnemonic"`
	Field    string    `json:"field,omitempty"`
	Value    any       `json:"value,omitempty"`
	Params   []problem `json:"params,omitempty"`
}

// result is every method's result: its data and the metadata object
// (always an object; empty until limits are reported).
type result struct {
	Data     any      `json:"data"`
	Metadata metadata `json:"metadata"`
}

// metadata is result.metadata.
type metadata struct {
	// Limits is the state of the caller's limits after the call; absent when
	// the server runs without limits, or could not count the call.
	Limits *limits `json:"limits,omitempty"`
	// TotalItems is how many rows a get method's query matches in all;
	// absent for the other methods.
	TotalItems *int64 `json:"total_items,omitempty"`
}

// resultOf returns the result of a method's data: a get method's listData
// gives its rows as data and its total as metadata.total_items.
func resultOf(data any) result {
	if l, ok := data.(listData); ok {
		total := l.total
		return result{Data: l.rows, Metadata: metadata{TotalItems: &total}}
	}
	return result{Data: data}
}

// limits is result.metadata.limits: the caller's day and minute limits, the
// calls left in each, and the seconds until each window closes.
type limits struct {
	DayLimit        int64 `json:"day_limit"`
	DayRemaining    int64 `json:"day_remaining"`
	DayReset        int64 `json:"day_reset"`
	MinuteLimit     int64 `json:"minute_limit"`
	MinuteRemaining int64 `json:"minute_remaining"`
	MinuteReset     int64 `json:"minute_reset"`
}

// limitsOf returns metadata.limits for a caller's usage.
func limitsOf(u guard.Usage) *limits {
	return &limits{
		DayLimit: u.Day.Rule.Limit, DayRemaining: u.Day.Remaining, DayReset: int64(u.Day.Reset / time.Second),
		MinuteLimit: u.Minute.Rule.Limit, MinuteRemaining: u.Minute.Remaining, MinuteReset: int64(u.Minute.Reset / time.Second),
	}
}

// readRequest reads the request body as one JSON-RPC request. The id, when
// it is a string or number, is returned even with an error, to be echoed. It
// returns the body limit's 413 for a body over the limit; parse_error for
// malformed JSON; batch_operations_not_supported for an array;
// invalid_request for a value that is not an object, a jsonrpc other than
// "2.0", an id that is not a string or number, a method that is missing or
// not a string, params that are not an object, or another member;
// notifications_not_supported for a request without an id. Strings that
// are not UTF-8 and keys given twice in one object (see jsonbody.Check) are
// invalid_parameter_value naming the parameter (its path in params), or
// invalid_request outside params.
func readRequest(c echo.Context) (request, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return request{}, err
		}
		return request{}, newError(mParseError, "", nil, "The request body could not be read")
	}
	// The Idempotency-Key guard reads the body again to tell requests apart.
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return parseRequest(body)
}

// parseRequest is readRequest on a body already read.
func parseRequest(body []byte) (request, error) {
	var req request
	// One pass checks the syntax (as json.Valid would) and finds what
	// encoding/json would decode lossily.
	checked := jsonbody.Check(body)
	if errors.As(checked, new(*jsonbody.SyntaxError)) {
		return req, newError(mParseError, "", nil, "Parse error: the request body is not valid JSON")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch trimmed[0] {
	case '[':
		return req, newError(mBatchNotSupported, "", nil, "Batch operations are not supported")
	case '{':
	default:
		return req, newError(mInvalidRequest, "", nil, "Invalid request: the request must be a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return req, newError(mParseError, "", nil, "Parse error: the request body is not valid JSON")
	}
	rawID, hasID := top["id"]
	rawID = bytes.TrimSpace(rawID)
	idOK := hasID && len(rawID) > 0 && (rawID[0] == '"' || rawID[0] == '-' || (rawID[0] >= '0' && rawID[0] <= '9'))
	var je *jsonbody.Error
	if errors.As(checked, &je) {
		p := bodyProblems(je)
		if idOK && !slices.ContainsFunc(p, func(pr problem) bool { return pr.Field == "id" }) {
			req.id = rawID
		}
		return req, p.err()
	}
	if idOK {
		req.id = rawID
	}

	var jsonrpc string
	if raw, ok := top["jsonrpc"]; !ok || json.Unmarshal(raw, &jsonrpc) != nil || jsonrpc != version {
		return req, newError(mInvalidRequest, "jsonrpc", nil, `Invalid request: jsonrpc must be "2.0"`)
	}
	switch {
	case !hasID:
		return req, newError(mNotificationsNotSup, "", nil, "Notifications are not supported: the request needs an id")
	case !idOK:
		return req, newError(mInvalidRequest, "id", nil, "Invalid request: id must be a string or a number")
	}
	raw, ok := top["method"]
	if !ok || json.Unmarshal(raw, &req.method) != nil {
		return req, newError(mInvalidRequest, "method", nil, "Invalid request: method must be a string")
	}
	req.params = map[string]any{}
	if raw, ok := top["params"]; ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return req, newError(mParseError, "", nil, "Parse error: the request body is not valid JSON")
		}
		obj, isObj := v.(map[string]any)
		if !isObj {
			return req, newError(mInvalidRequest, "params", nil, "Invalid request: params must be an object")
		}
		req.params = obj
	}
	var extra []string
	for k := range top {
		switch k {
		case "jsonrpc", "id", "method", "params":
		default:
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return req, newError(mInvalidRequest, extra[0], nil, "Invalid request: unexpected member %s", extra[0])
	}
	return req, nil
}

// bodyProblems returns the problems jsonbody found: within params,
// invalid_parameter_value naming the parameter as the methods name it
// ("chats[0].name"); elsewhere (a member of the request itself, or params
// given twice), invalid_request naming the member.
func bodyProblems(je *jsonbody.Error) problems {
	var p problems
	for _, pr := range je.Problems {
		what := "must be valid UTF-8 text"
		if pr.Kind == jsonbody.DuplicateKey {
			what = "is given more than once"
		}
		if len(pr.Path) >= 2 && !pr.Path[0].InArray && pr.Path[0].Key == "params" {
			field := pr.Path[1:].String()
			p.add(field, mInvalidValue, nil, "Invalid value of parameter %s: %s", field, what)
			continue
		}
		field := pr.Path.String()
		if field == "" {
			p.add("", mInvalidRequest, nil, "Invalid request: the request %s", what)
			continue
		}
		p.add(field, mInvalidRequest, nil, "Invalid request: member %s %s", field, what)
	}
	return p
}

// writeJSON writes v as the response body with CallGear's Content-Type. It
// returns an error when v cannot be encoded, having written nothing.
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.Blob(status, contentType, buf.Bytes())
}

// writeResult answers the request with its result.
func writeResult(c echo.Context, id json.RawMessage, res result) error {
	return writeJSON(c, http.StatusOK, response{JSONRPC: version, ID: id, Result: res})
}
