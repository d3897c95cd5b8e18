package callgear

import (
	"encoding/json"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/models"
)

// deleteIn is the params of delete.offline_messages and delete.chats.
type deleteIn struct {
	IDs []int64
	// Single says id was one number rather than an array.
	Single bool
}

// deleteOfflineMessages is delete.offline_messages {access_token, id}: it
// deletes offline messages uploaded through this API. See deleteUploaded.
func (a *api) deleteOfflineMessages(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return a.deleteUploaded(c, cl, params, models.ChannelOffline)
}

// deleteChats is delete.chats {access_token, id}: it deletes chats uploaded
// through this API. See deleteUploaded.
func (a *api) deleteChats(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	return a.deleteUploaded(c, cl, params, models.ChannelChat)
}

// deleteUploaded deletes the uploaded cases of the channel that params.id
// names (one id or an array of up to MaxItems), all or none, and returns
// their ids in the order given, each once. Errors: -32602 entity_not_found
// naming id (or id[i]) for an id that is not an uploaded case of the channel
// in the caller's account, and the params' type and value problems; -32001
// for the token, -32003 without the upload scope.
func (a *api) deleteUploaded(c echo.Context, cl auth.Caller, params map[string]any, channel models.Channel) (any, error) {
	ctx := c.Request().Context()
	var p problems
	in := decodeDelete(params, a.maxItems, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	deleted, err := a.store.DeleteUploaded(ctx, cl.AccountID, channel, in.IDs)
	if err != nil {
		rename := listField("id")
		if in.Single {
			rename = func(string) string { return "id" }
		}
		return nil, errkind.Named(err, fieldNames(rename))
	}
	return idsData(deleted), nil
}

// decodeDelete reads a delete's params (the access token already checked),
// recording every problem in p.
func decodeDelete(params map[string]any, maxItems int, p *problems) deleteIn {
	var in deleteIn
	o := newObject(params, p)
	o.skip("access_token")
	v, _ := o.get("id")
	switch t := v.(type) {
	case nil:
		p.missing("id")
	case json.Number:
		in.Single = true
		if n, ok := o.idAt(jsonbody.Path{jsonbody.Member("id")}, t); ok {
			in.IDs = []int64{n}
		}
	case []any:
		switch {
		case len(t) == 0:
			p.invalid("id", nil, "must not be empty")
		case len(t) > maxItems:
			p.add("id", mDataLimitExceeded, len(t), "Data limit exceeded: id has %d items, at most %d are allowed", len(t), maxItems)
		default:
			for i, e := range t {
				if n, ok := o.idAt(jsonbody.Path{jsonbody.Member("id"), jsonbody.Element(i)}, e); ok {
					in.IDs = append(in.IDs, n)
				}
			}
		}
	default:
		p.wrongType("id", v, "a number or an array of numbers")
	}
	o.unexpected()
	return in
}
