package acquire

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"switchboard/delivery"
	"switchboard/handlers/errkind"
	"switchboard/handlers/jsonbody"
	"switchboard/models"
	"switchboard/store"
)

// DefaultAttachmentLimit is the most bytes an email's attachments may hold
// together when Config leaves AttachmentLimit at zero: 10 MB, under what
// common mail providers take per message (Gmail and Outlook take 20 to 25
// MB), after the third that base64 adds on the way.
const DefaultAttachmentLimit = 10_000_000

// fetchBudget bounds the downloads of one request's attachments together,
// so that a request with many slow URLs ends well within the server's
// write timeout.
const fetchBudget = 30 * time.Second

// Fetcher downloads a file given by URL; *delivery.Fetcher is the real one.
// Fetch returns the body and the server's Content-Type, delivery.ErrTooLarge
// when the body is over limit bytes, and an error saying what failed
// otherwise (without the URL).
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string, limit int64) ([]byte, string, error)
}

// attachmentInput is one checked attachment of a mail request: Content is
// set for a base64 one, URL for one to fetch.
type attachmentInput struct {
	Name, ContentType string
	Content           []byte
	URL               string
}

// tooLargeError is a 413 in Acquire's error format: the attachments of an
// email are over the limit.
type tooLargeError struct {
	Message string
}

func (e *tooLargeError) Error() string { return e.Message }

// Kind makes a tooLargeError a TooLarge request, worded already.
func (e *tooLargeError) Kind() errkind.Kind { return errkind.TooLarge }

// attachmentsTooLarge returns the 413 for attachments of more than limit
// bytes; what says how far the count got.
func attachmentsTooLarge(limit int64, what string) error {
	return &tooLargeError{Message: fmt.Sprintf("attachments: together at most %d bytes (%s) may be sent with one email; %s",
		limit, megabytes(limit), what)}
}

// megabytes words n bytes as decimal megabytes ("10 MB", "2.5 MB").
func megabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + " MB"
}

// parseAttachments reads the required attachments array of d: each item
// {"name", "contentType"?, "content"} with base64 content, or {"name",
// "contentType"?, "url"}. It records every bad item in fe, and returns the
// items and the bytes of their decoded content (the URLs are fetched
// later, by fetchAttachments).
func parseAttachments(fe *fieldErrors, d *jsonbody.Object) ([]attachmentInput, int64) {
	items, ok := d.Array("attachments", true)
	if !ok {
		return nil, 0
	}
	if len(items) > models.MaxAttachments {
		fe.add("attachments", "an email may have at most %d attachments, not %d", models.MaxAttachments, len(items))
		return nil, 0
	}
	var out []attachmentInput
	var total int64
	for i, item := range items {
		a, ok := d.Element("attachments", i, item)
		if !ok {
			continue
		}
		var in attachmentInput
		good := true
		if name, ok := a.Text("name"); ok {
			switch {
			case strings.TrimSpace(name) == "":
				fe.add(a.Name("name"), "must not be blank")
				good = false
			case len(name) > models.MaxAttachmentNameBytes:
				fe.add(a.Name("name"), "must be at most %d bytes, not %d", models.MaxAttachmentNameBytes, len(name))
				good = false
			case strings.ContainsAny(name, `/\`):
				fe.add(a.Name("name"), "must be a file name, not a path")
				good = false
			case !checkLine(fe, a.Name("name"), name):
				good = false
			default:
				in.Name = name
			}
		} else {
			good = false
		}
		if ct, ok := a.OptionalString("contentType"); ok {
			if store.ValidContentType(ct) {
				in.ContentType = ct
			} else {
				fe.add(a.Name("contentType"), "%q is not a MIME type such as application/pdf", shorten(ct))
				good = false
			}
		} else if a.Has("contentType") {
			good = false
		}
		content, hasContent := a.Value("content")
		rawURL, hasURL := a.Value("url")
		switch {
		case hasContent && hasURL:
			fe.add(a.Path().Full(), "give content or url, not both")
			good = false
		case hasContent:
			s, isString := content.(string)
			b, err := decodeBase64(s)
			switch {
			case !isString:
				fe.add(a.Name("content"), "must be a string of base64")
				good = false
			case err != nil:
				fe.add(a.Name("content"), "is not valid base64")
				good = false
			default:
				in.Content = b
				total += int64(len(b))
			}
		case hasURL:
			s, isString := rawURL.(string)
			switch {
			case !isString:
				fe.add(a.Name("url"), "must be a string")
				good = false
			case len(s) > maxURLBytes:
				fe.add(a.Name("url"), "must be at most %d bytes, not %d", maxURLBytes, len(s))
				good = false
			default:
				if err := delivery.CheckURL(s); err != nil {
					fe.add(a.Name("url"), "%v", err)
					good = false
				}
				in.URL = s
			}
		default:
			fe.add(a.Path().Full(), `needs "content" (the file in base64) or "url" (where to fetch it)`)
			good = false
		}
		if good {
			out = append(out, in)
		}
	}
	return out, total
}

// maxURLBytes bounds an attachment's URL, the length browsers and servers
// commonly take.
const maxURLBytes = 2048

// decodeBase64 decodes standard base64, padded or not, ignoring line breaks
// (as MIME writes it).
func decodeBase64(s string) ([]byte, error) {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// fetchAttachments downloads the URL attachments of as, in order, each
// within what is left of limit after total bytes, and returns the
// attachments ready for the store, each with a content type: the client's,
// else the server's, else one guessed from the name, else from the
// content. It returns a 413 when the files together exceed limit and an
// ERROR_INVALID_INPUT naming every URL that could not be fetched.
func fetchAttachments(ctx context.Context, f Fetcher, as []attachmentInput, total, limit int64) ([]store.NewAttachment, error) {
	if total > limit {
		return nil, attachmentsTooLarge(limit, fmt.Sprintf("these are %d bytes", total))
	}
	ctx, cancel := context.WithTimeout(ctx, fetchBudget)
	defer cancel()
	var fe fieldErrors
	out := make([]store.NewAttachment, len(as))
	for i, a := range as {
		na := store.NewAttachment{Name: a.Name, ContentType: a.ContentType, Content: a.Content}
		serverType := ""
		if a.URL != "" {
			na.SourceURL = a.URL
			body, ct, err := f.Fetch(ctx, a.URL, limit-total)
			switch {
			case errors.Is(err, delivery.ErrTooLarge):
				return nil, attachmentsTooLarge(limit, fmt.Sprintf("attachments[%d].url brings them over it", i))
			case ctx.Err() != nil:
				return nil, invalidInput("attachments[%d].url: the files given by URL were not all fetched within %s", i, fetchBudget)
			case err != nil:
				fe.add(fmt.Sprintf("attachments[%d].url", i), "could not be fetched: %v", err)
				continue
			}
			na.Content, serverType = body, ct
			total += int64(len(body))
		}
		if na.ContentType == "" {
			na.ContentType = guessType(a.Name, serverType, na.Content)
		}
		out[i] = na
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// guessType returns the content type of a file the client gave none for:
// the server's when valid, else the one of its name's extension, else one
// sniffed from its content.
func guessType(name, serverType string, content []byte) string {
	if serverType != "" && store.ValidContentType(serverType) {
		return serverType
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(content)
}

// mailAttachment is an attachment as the mail add-message response lists
// it: its size in bytes, and the URL it was fetched from, if any.
type mailAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	URL         string `json:"url,omitempty"`
}

// mailResponse is the mail add-message response's data: the email, with
// its attachments listed (they shadow mailObject's always-empty list).
type mailResponse struct {
	mailObject
	Attachments []mailAttachment `json:"attachments"`
}

// toMailResponse returns the response data for the email sm of the case v.
func toMailResponse(sm store.SentMessage, v store.CaseView) mailResponse {
	out := mailResponse{mailObject: toMail(sm, v), Attachments: make([]mailAttachment, len(sm.Attachments))}
	for i, a := range sm.Attachments {
		out.Attachments[i] = mailAttachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size, URL: a.SourceURL}
	}
	return out
}
