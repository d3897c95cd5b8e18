package models

import "unicode/utf8"

// The longest value each free-text field of the model takes. The dialects
// refuse a longer value in their vendor's words, naming the vendor's field,
// and the store refuses it again (in the model's words) whatever wrote it:
// an API request, an upload, the admin commands. A length in characters
// counts Unicode code points (utf8.RuneCountInString); where a limit is in
// bytes its name says so.
const (
	// MaxTextLen is the most characters of a message's text and of its
	// markdown (chat messages and notes, HelpCrunch text and markdownText,
	// Acquire message, CallGear chat messages and offline-message text):
	// 65,535, what a MySQL TEXT column holds and far more than any chat
	// message needs.
	MaxTextLen = 65_535

	// MaxNameLen is the most characters of a name: a contact's (HelpCrunch
	// name, CallGear name), an agent's first and last names, and the names
	// of accounts, campaigns, API keys and CallGear forms (form_name).
	MaxNameLen = 255

	// MaxEmailBytes is the most bytes of an email address: 254, the longest
	// address RFC 5321's 256-byte path holds between its angle brackets.
	MaxEmailBytes = 254

	// MaxSubjectBytes is the most bytes of an email's subject and of a
	// case's subject (Acquire's title): 998, RFC 5322's line limit, so the
	// subject fits the one header line it is sent as.
	MaxSubjectBytes = 998

	// MaxSMSLen is the most characters of an SMS body: 1,600, what
	// Twilio-compatible providers take in one message (sent as up to ten
	// segments). A longer body would be queued only to fail at the provider.
	MaxSMSLen = 1600

	// MaxEmailBodyLen is the most characters of an email's text body and of
	// its HTML body, each: 262,144 (256 Ki), room for a long reply with its
	// quoted thread and mark-up (Gmail clips messages past 102 KB).
	MaxEmailBodyLen = 262_144

	// MaxExtIDLen is the most characters of an id from the client's own
	// system: a CallGear ext_id (of an upload or of a user field) and a
	// HelpCrunch userId.
	MaxExtIDLen = 255

	// MaxLangLen is the most characters of a language tag (Acquire's
	// translateLangKey): 35, the longest BCP 47 tag in practical use
	// (RFC 5646 section 4.4.1).
	MaxLangLen = 35

	// MaxDomainLen is the most bytes of a site's domain name: 253, DNS's
	// limit (RFC 1035) written out.
	MaxDomainLen = 253

	// MaxURLLen is the most characters of a URL kept (a visitor's referrer):
	// 2,048, which every browser and proxy passes on.
	MaxURLLen = 2048

	// MaxIPLen is the most characters of an IP address as text: 45, an
	// IPv4-mapped IPv6 address written out in full.
	MaxIPLen = 45

	// MaxSearchValueLen is the most characters of a value a search compares
	// fields with (HelpCrunch filter values, Acquire where values, REVE's
	// agent_email_id): 1,000, more than the longest field a search reads (a
	// 998-byte subject).
	MaxSearchValueLen = 1000

	// MaxFieldValueLen is the most characters of a custom field's value
	// (CallGear user_fields[].value), which is checked though not stored.
	MaxFieldValueLen = 4096

	// MaxReasonLen is the most characters kept of a delivery's failure
	// reason, in the provider's words. Unlike the others this one is cut to
	// length, not refused: it is the server's record of what happened.
	MaxReasonLen = 1000
)

// TooLong reports whether s has more than max characters (code points).
func TooLong(s string, max int) bool {
	// Every character takes at least a byte: most strings are decided by
	// their length alone.
	return len(s) > max && utf8.RuneCountInString(s) > max
}

// HasControl reports whether s holds a control character: C0 (U+0000 to
// U+001F, tab, newline and carriage return included), DEL (U+007F) or C1
// (U+0080 to U+009F). Names, subjects, addresses and ids may hold none.
func HasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		// U+0080 to U+009F are 0xC2 0x80 to 0xC2 0x9F in UTF-8.
		if c < 0x20 || c == 0x7f || c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f {
			return true
		}
	}
	return false
}

// Truncate returns s cut to at most max characters.
func Truncate(s string, max int) string {
	if !TooLong(s, max) {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// The bounds of an email's attachments: how many one email carries, and the
// most bytes of an attachment's file name (a MIME parameter, kept to one
// line and the length file systems take).
const (
	MaxAttachments         = 20
	MaxAttachmentNameBytes = 255
)
