package inbound

import (
	"errors"
	"fmt"
	"io"
	"net/mail"

	"switchboard/store"
)

// ErrMalformed means the input is not a message that can be recorded: not
// MIME at all, or without a sender address.
var ErrMalformed = errors.New("malformed message")

// ParseEmail reads one RFC 5322 message from r to its end and returns it in
// the store's words. It returns an error wrapping ErrMalformed for input
// that is not a message with a From address.
//
// TODO(issue 21): the whole MIME tree, charsets, attachments, bounces and
// auto-replies; this first cut reads headers and a plain body.
func ParseEmail(r io.Reader) (store.InboundEmail, error) {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return store.InboundEmail{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil {
		return store.InboundEmail{}, fmt.Errorf("%w: From: %v", ErrMalformed, err)
	}
	body, err := io.ReadAll(io.LimitReader(m.Body, 1<<20))
	if err != nil {
		return store.InboundEmail{}, err
	}
	return store.InboundEmail{
		MessageID: m.Header.Get("Message-Id"), References: []string{m.Header.Get("In-Reply-To")},
		From: from.Address, FromName: from.Name, Subject: m.Header.Get("Subject"), TextBody: string(body),
	}, nil
}
