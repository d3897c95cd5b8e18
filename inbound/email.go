package inbound

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"switchboard/models"
	"switchboard/store"
)

// ErrMalformed means the input is not a message that can be recorded: not
// MIME at all, or without a sender address.
var ErrMalformed = errors.New("malformed message")

// Bounds on what one message may make the parser do. The message's size is
// the caller's to limit (DefaultMaxMessageBytes); these keep a hostile
// structure within it from costing more than its bytes.
const (
	// maxHeaderBytes bounds the message's own header block.
	maxHeaderBytes = 1 << 20
	// maxDepth is how deep multiparts nest before deeper ones are skipped.
	maxDepth = 20
	// maxParts is how many parts are looked at; the rest are skipped.
	maxParts = 500
	// maxReportBytes bounds what is read of a delivery-status part and of
	// the headers of the message a report returns.
	maxReportBytes = 256 << 10
)

var errHeaderTooLarge = errors.New("header block too large")

// source is the caller's reader as the parser reads it (hashed by a
// TeeReader under it): counted against the header bound while headers are
// read, and remembering the caller's error, which the parser must return
// rather than take for the message's end.
type source struct {
	r     io.Reader
	n     int64
	limit int64 // 0: none
	err   error
}

func (s *source) Read(p []byte) (int, error) {
	if s.limit > 0 {
		if s.n >= s.limit {
			return 0, errHeaderTooLarge
		}
		if rest := s.limit - s.n; int64(len(p)) > rest {
			p = p[:rest]
		}
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// ParseEmail reads one RFC 5322 message from r to its end and returns it in
// the store's words. The message is streamed: what is held is what is kept
// (bodies, attachments), each once.
//
// A message without a Message-ID gets one made of the SHA-256 of its bytes,
// so that a copy sent again is known as the same. A delivery status report
// saying an email failed comes back with Bounce set, one saying it is
// delayed and any other automatic reply with AutoReply set.
//
// It returns an error wrapping ErrMalformed for input that is not a message
// with a From address, and the error of r, if reading it failed.
func ParseEmail(r io.Reader) (store.InboundEmail, error) {
	sum := sha256.New()
	src := &source{r: io.TeeReader(r, sum), limit: maxHeaderBytes}
	br := bufio.NewReaderSize(src, 32<<10)
	skipMboxLine(br)
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err == io.EOF && len(hdr) > 0 {
		// Headers only, without the blank line before a body.
		err = nil
	}
	src.limit = 0
	if err != nil {
		return store.InboundEmail{}, drained(br, src, fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	p := newParser()
	in := &p.out
	from, err := p.header(hdr)
	if err != nil {
		return store.InboundEmail{}, drained(br, src, err)
	}
	p.walk(hdr, br, 0, false)
	if err := drained(br, src, nil); err != nil {
		return store.InboundEmail{}, err
	}
	if in.MessageID == "" {
		in.MessageID = fmt.Sprintf("<%x@switchboard.invalid>", sum.Sum(nil))
	}
	p.finishBodies()
	p.finishReport(from)
	return *in, nil
}

// drained reads what is left of the message, so that all of it is hashed
// and the sender sees it taken, and returns the reader's error if there was
// one, else err.
func drained(br *bufio.Reader, src *source, err error) error {
	_, _ = io.Copy(io.Discard, br)
	if src.err != nil {
		return fmt.Errorf("read message: %w", src.err)
	}
	return err
}

// skipMboxLine drops the "From sender date" line an mbox puts before a
// message, which some forwarders keep.
func skipMboxLine(br *bufio.Reader) {
	if b, _ := br.Peek(5); string(b) == "From " {
		_, _ = br.ReadSlice('\n')
	}
}

// parser holds what one message has given so far.
type parser struct {
	dec   *mime.WordDecoder
	out   store.InboundEmail
	parts int
	// haveText and html: the first text/plain part was taken (into
	// out.TextBody) and the whole first text/html part, UTF-8.
	haveText, haveHTML bool
	html               []byte
	// report: a multipart/report was seen; dsn are its delivery-status
	// fields, returned the Message-IDs of the message it returns.
	report   bool
	dsn      []dsnBlock
	returned []string
}

func newParser() *parser {
	return &parser{dec: &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
		return textReader(charset, r), nil
	}}}
}

// header fills the parser's result from the message's header and returns
// the From address; an error wrapping ErrMalformed when there is none.
func (p *parser) header(h textproto.MIMEHeader) (*mail.Address, error) {
	in := &p.out
	from := p.addresses(h.Values("From"))
	if len(from) == 0 {
		return nil, fmt.Errorf("%w: no From address", ErrMalformed)
	}
	in.From, in.FromName = from[0].Address, from[0].Name
	for _, a := range p.addresses(h.Values("To")) {
		in.To = append(in.To, a.Address)
	}
	for _, a := range p.addresses(h.Values("Cc")) {
		in.Cc = append(in.Cc, a.Address)
	}
	in.Subject = p.decodeHeader(h.Get("Subject"))
	in.MessageID = messageID(h.Get("Message-Id"))
	refs := msgIDs(h.Get("In-Reply-To"))
	older := msgIDs(strings.Join(h.Values("References"), " "))
	for i := len(older) - 1; i >= 0; i-- {
		refs = append(refs, older[i])
	}
	in.References = dedupe(refs)
	in.AutoReply = autoReply(h)
	return from[0], nil
}

// decodeHeader returns the header value v with its RFC 2047 words decoded,
// as valid UTF-8; v itself when it does not decode.
func (p *parser) decodeHeader(v string) string {
	if d, err := p.dec.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD")
}

// addresses returns the addresses of the address-list header values, names
// decoded, skipping any that do not parse.
func (p *parser) addresses(values []string) []*mail.Address {
	ap := mail.AddressParser{WordDecoder: p.dec}
	var out []*mail.Address
	for _, v := range values {
		if l, err := ap.ParseList(v); err == nil {
			out = append(out, l...)
			continue
		}
		// One bad address fails the list: take the others one by one.
		for _, one := range splitAddresses(v) {
			if a, err := ap.Parse(one); err == nil {
				out = append(out, a)
			}
		}
	}
	for _, a := range out {
		a.Name = strings.ToValidUTF8(a.Name, "\uFFFD")
	}
	return out
}

// splitAddresses splits an address list at its commas, those outside
// quotes, comments and angle brackets.
func splitAddresses(s string) []string {
	var out []string
	quoted, escaped, depth, start := false, false, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '<':
			depth++
		case (c == ')' || c == '>') && depth > 0:
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// msgIDs returns the <...> message ids in v, in order.
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		if id := strings.Join(strings.Fields(v[i+1:i+j]), ""); id != "" {
			out = append(out, "<"+id+">")
		}
		v = v[i+j+1:]
	}
}

// messageID returns the message id of a Message-ID header value in angle
// brackets, "" when there is none.
func messageID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, " \t<>") {
		return ""
	}
	return "<" + v + ">"
}

func dedupe(l []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// autoReply returns why the header makes a message an automatic reply, ""
// when it does not.
func autoReply(h textproto.MIMEHeader) string {
	line := func(name, v string) string {
		v = strings.Join(strings.Fields(v), " ")
		if v == "" {
			return name
		}
		return name + ": " + v
	}
	if v, ok := h["Auto-Submitted"]; ok {
		kind, _, _ := strings.Cut(v[0], ";")
		if !strings.EqualFold(strings.TrimSpace(kind), "no") {
			return line("Auto-Submitted", v[0])
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "auto_reply", "junk", "list":
		return line("Precedence", v)
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond"} {
		if v, ok := h[name]; ok {
			return line(name, v[0])
		}
	}
	return ""
}

// mediaType returns the lowercase media type of a Content-Type or
// Content-Disposition value and its parameters, RFC 2231 ones decoded.
// A value that does not parse still gives its type when it has one.
func (p *parser) mediaType(v string) (string, map[string]string) {
	t, params, err := mime.ParseMediaType(v)
	if err != nil {
		t, _, _ = strings.Cut(v, ";")
		t = strings.ToLower(strings.TrimSpace(t))
		params = map[string]string{}
		if b := boundaryParam(v); b != "" {
			params["boundary"] = b
		}
	}
	for _, name := range []string{"filename", "name"} {
		// mime decodes only UTF-8 and ASCII ones and drops the segments
		// in other charsets.
		if strings.Contains(strings.ToLower(v), name+"*") {
			if s := rfc2231Param(v, name); s != "" {
				params[name] = s
			}
		}
	}
	return t, params
}

// boundaryParam digs the boundary out of a Content-Type that does not
// parse as a whole (a bad parameter beside it).
func boundaryParam(v string) string {
	i := indexASCIIFold(v, "boundary=")
	if i < 0 {
		return ""
	}
	b := v[i+len("boundary="):]
	if strings.HasPrefix(b, `"`) {
		b, _, _ = strings.Cut(b[1:], `"`)
		return b
	}
	b, _, _ = strings.Cut(b, ";")
	return strings.TrimSpace(b)
}

// indexASCIIFold returns the index of the lowercase ASCII word in s, in
// any case, or -1. (strings.ToLower would do, but for changing the length
// of some other characters, and so the index.)
func indexASCIIFold(s, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(word)], word) {
			return i
		}
	}
	return -1
}

// rfc2231Param returns the parameter name of the header value v given in
// RFC 2231 form (name*=charset'lang'%XX or continued name*0*=...) in a
// charset mime.ParseMediaType does not decode, converted to UTF-8; "" when
// it has none.
func rfc2231Param(v, name string) string {
	segs := map[int]string{}
	ext := map[int]bool{}
	for _, kv := range splitParams(v) {
		k, val, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || !strings.HasPrefix(k, name+"*") {
			continue
		}
		rest := strings.TrimPrefix(k, name+"*")
		n, e := 0, false
		switch {
		case rest == "":
			e = true
		case strings.HasSuffix(rest, "*"):
			e = true
			rest = strings.TrimSuffix(rest, "*")
			fallthrough
		default:
			i, err := strconv.Atoi(rest)
			if err != nil || i < 0 || i > 100 {
				continue
			}
			n = i
		}
		segs[n], ext[n] = strings.Trim(strings.TrimSpace(val), `"`), e
	}
	first, ok := segs[0]
	if !ok || !ext[0] {
		return ""
	}
	charset, first, ok := strings.Cut(first, "'")
	if !ok {
		return ""
	}
	_, first, _ = strings.Cut(first, "'")
	segs[0] = first
	var raw []byte
	for i := 0; ; i++ {
		s, ok := segs[i]
		if !ok {
			break
		}
		if ext[i] {
			raw = append(raw, percentDecode(s)...)
		} else {
			raw = append(raw, s...)
		}
	}
	out, _ := io.ReadAll(textReader(charset, bytes.NewReader(raw)))
	return string(out)
}

// splitParams splits a header value at the semicolons outside quotes.
func splitParams(v string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if b, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out = append(out, byte(b))
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

// walk takes in one entity (the message or one of its parts) with header h
// and body, the body still transfer-encoded. In a report (multipart/report)
// the delivery status and the returned message are read, and nothing is
// kept as an attachment.
func (p *parser) walk(h textproto.MIMEHeader, body io.Reader, depth int, inReport bool) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	t, params := p.mediaType(ct)
	if !strings.Contains(t, "/") {
		// RFC 2045: what does not say its type is plain text.
		t = "text/plain"
	}
	if strings.HasPrefix(t, "multipart/") && params["boundary"] != "" {
		if depth >= maxDepth {
			return
		}
		if t == "multipart/report" {
			p.report, inReport = true, true
		}
		mr := multipart.NewReader(body, params["boundary"])
		for p.parts < maxParts {
			part, err := mr.NextRawPart()
			if err != nil {
				// The end, or a structure broken past here: what came
				// before is kept.
				return
			}
			p.parts++
			p.walk(part.Header, part, depth+1, inReport)
		}
		return
	}
	r := transferDecoder(h.Get("Content-Transfer-Encoding"), body)
	if inReport {
		switch t {
		case "message/delivery-status", "message/global-delivery-status":
			p.readDSN(r)
			return
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			p.readReturned(r)
			return
		}
	}
	disp, dparams := p.mediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = p.decodeHeader(name)
	if (t == "text/plain" || t == "text/html") && disp != "attachment" && name == "" {
		if t == "text/plain" && !p.haveText {
			p.haveText = true
			b := readAll(textReader(params["charset"], r))
			p.out.TextBody = string(truncateRunes(b, models.MaxEmailBodyLen))
			if len(p.out.TextBody) < len(b) {
				p.attach("body.txt", "text/plain; charset=utf-8", b)
			}
		} else if t == "text/html" && !p.haveHTML {
			p.haveHTML = true
			p.html = readAll(textReader(params["charset"], r))
			if utf8.RuneCount(p.html) > models.MaxEmailBodyLen {
				p.attach("body.html", "text/html; charset=utf-8", p.html)
			}
		}
		// Later text parts (signatures, list footers) are not the body.
		return
	}
	if inReport || len(p.out.Attachments) >= store.MaxInboundAttachments {
		return
	}
	p.attach(name, attachmentType(t, params), readAll(r))
}

// attach keeps a file; one without a name is named for its type.
func (p *parser) attach(name, contentType string, content []byte) {
	if len(p.out.Attachments) >= store.MaxInboundAttachments {
		return
	}
	if name == "" {
		t, _, _ := strings.Cut(contentType, ";")
		name = fmt.Sprintf("attachment-%d%s", len(p.out.Attachments)+1, extension(t))
	}
	p.out.Attachments = append(p.out.Attachments, store.NewAttachment{Name: name, ContentType: contentType, Content: content})
}

// attachmentType returns the content type an attachment is kept with: the
// media type, with its charset for text, or application/octet-stream when
// that is not a valid type.
func attachmentType(t string, params map[string]string) string {
	ct := t
	if cs := params["charset"]; strings.HasPrefix(t, "text/") && cs != "" {
		ct = mime.FormatMediaType(t, map[string]string{"charset": strings.ToLower(cs)})
	}
	if ct == "" || !store.ValidContentType(ct) {
		return "application/octet-stream"
	}
	return ct
}

// extension returns the file extension an unnamed file of type t is
// given. The usual types have theirs here, the same on every system
// (mime.ExtensionsByType reads the system's tables and lists several).
func extension(t string) string {
	switch t {
	case "application/pdf":
		return ".pdf"
	case "application/zip":
		return ".zip"
	case "application/json":
		return ".json"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "message/rfc822":
		return ".eml"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "text/calendar":
		return ".ics"
	case "text/csv":
		return ".csv"
	}
	if exts, err := mime.ExtensionsByType(t); err == nil && len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// transferDecoder returns body with its Content-Transfer-Encoding undone;
// an unknown encoding is taken as none.
func transferDecoder(cte string, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &base64Filter{r: body})
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	}
	return body
}

// base64Filter passes on only the base64 alphabet of r, ending at the
// padding: senders wrap lines every which way and some add stray bytes.
type base64Filter struct {
	r    io.Reader
	done bool
}

func (f *base64Filter) Read(p []byte) (int, error) {
	for !f.done {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			switch {
			case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
				p[k] = c
				k++
			case c == '=':
				f.done = true
			}
			if f.done {
				break
			}
		}
		if err != nil {
			return k, err
		}
		if k > 0 {
			return k, nil
		}
	}
	return 0, io.EOF
}

// textReader returns r decoded from charset to UTF-8, bytes invalid in it
// as U+FFFD; an unknown or missing charset is taken as UTF-8.
func textReader(charset string, r io.Reader) io.Reader {
	enc := charsetEncoding(charset)
	if enc == nil {
		enc = unicode.UTF8
	}
	return transform.NewReader(r, enc.NewDecoder())
}

func charsetEncoding(label string) encoding.Encoding {
	label = strings.TrimSpace(strings.Trim(label, `"' `))
	if label == "" {
		return nil
	}
	if e, err := htmlindex.Get(label); err == nil {
		return e
	}
	if e, err := ianaindex.MIME.Encoding(label); err == nil && e != nil {
		return e
	}
	return nil
}

// readAll reads r to its end or its first error. It reads into chunks
// growing to 1 MB and joins them once, so that the result, exactly its
// size, has cost twice its size, where a doubling buffer can cost four
// times and keep twice. A decoding error ends the content where it was:
// what came before is kept.
func readAll(r io.Reader) []byte {
	var chunks [][]byte
	size, n := 0, 4<<10
	for {
		buf := make([]byte, n)
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			chunks = append(chunks, buf[:k])
			size += k
		}
		if err != nil {
			break
		}
		n = min(2*n, 1<<20)
	}
	out := make([]byte, 0, size)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// truncateRunes returns the first max characters of the UTF-8 text b.
func truncateRunes(b []byte, max int) []byte {
	n := 0
	for i := range len(b) {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if n == max {
			return b[:i]
		}
		n++
	}
	return b
}

// dsnBlock is one group of delivery-status fields, names lowercase.
type dsnBlock map[string]string

// readDSN reads a message/delivery-status part: the per-message fields,
// then a block per recipient, separated by blank lines.
func (p *parser) readDSN(r io.Reader) {
	b := readAll(io.LimitReader(r, maxReportBytes))
	block := dsnBlock{}
	last := ""
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if len(block) > 0 {
				p.dsn = append(p.dsn, block)
				block, last = dsnBlock{}, ""
			}
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				block[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			block[last] = strings.TrimSpace(v)
		}
	}
	if len(block) > 0 {
		p.dsn = append(p.dsn, block)
	}
}

// readReturned reads the header of the message a report returns (whole or
// headers only) for its Message-ID.
func (p *parser) readReturned(r io.Reader) {
	// A header block that does not parse to its end still gives what came
	// before the bad line.
	h, _ := textproto.NewReader(bufio.NewReader(io.LimitReader(r, maxReportBytes))).ReadMIMEHeader()
	if id := messageID(h.Get("Message-Id")); id != "" {
		p.returned = append(p.returned, id)
	}
}

// finishBodies makes the HTML bodies and, for a message with HTML only, the
// text body from the HTML.
func (p *parser) finishBodies() {
	if !p.haveHTML {
		return
	}
	in := &p.out
	in.HTMLOriginal = string(truncateRunes(p.html, models.MaxEmailBodyLen))
	in.HTMLBody = truncateHTML(htmlPolicy().SanitizeBytes(p.html), models.MaxEmailBodyLen)
	if !p.haveText {
		in.TextBody = string(truncateRunes([]byte(htmlText(bytes.NewReader(p.html))), models.MaxEmailBodyLen))
	}
	p.html = nil
}

// finishReport makes a delivery status report a bounce (a recipient
// failed) or an automatic reply (delayed). A report without delivery-status
// fields from a mailer daemon that returns a message is a bounce too, with
// the first line of its text as the reason.
func (p *parser) finishReport(from *mail.Address) {
	if !p.report {
		return
	}
	in := &p.out
	ids := p.returned
	var delayed dsnBlock
	actions := false
	for _, b := range p.dsn {
		if id := messageID(b["x-original-message-id"]); id != "" {
			ids = append(ids, id)
		}
	}
	ids = dedupe(append(ids, in.References...))
	for _, b := range p.dsn {
		action, ok := b["action"]
		if !ok {
			continue
		}
		actions = true
		action, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(action)), " ")
		switch action {
		case "failed":
			in.Bounce = &store.Bounce{MessageIDs: ids, Reason: dsnReason(b, "delivery failed")}
			return
		case "delayed":
			if delayed == nil {
				delayed = b
			}
		}
	}
	if delayed != nil {
		in.AutoReply = "delivery delayed: " + dsnReason(delayed, "")
		in.AutoReply = strings.TrimSuffix(in.AutoReply, ": ")
		return
	}
	local, _, _ := strings.Cut(strings.ToLower(from.Address), "@")
	if !actions && len(p.returned) > 0 && (local == "mailer-daemon" || local == "postmaster") {
		reason := "delivery failed"
		for _, l := range strings.Split(in.TextBody, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				reason = l
				break
			}
		}
		in.Bounce = &store.Bounce{MessageIDs: ids, Reason: reason}
	}
}

// dsnReason returns a recipient block's Status and Diagnostic-Code on one
// line, or def when it has neither.
func dsnReason(b dsnBlock, def string) string {
	s := strings.Join(strings.Fields(b["status"]+" "+b["diagnostic-code"]), " ")
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s == "" {
		return def
	}
	return s
}
