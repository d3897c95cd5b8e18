package models

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// PhoneType is the kind of line a phone number is, as its country's
// numbering plan (libphonenumber's metadata) tells it.
type PhoneType string

// The types of phone number.
const (
	PhoneFixedLine         PhoneType = "fixed_line"
	PhoneMobile            PhoneType = "mobile"
	PhoneFixedLineOrMobile PhoneType = "fixed_line_or_mobile"
	PhoneTollFree          PhoneType = "toll_free"
	PhonePremiumRate       PhoneType = "premium_rate"
	PhoneSharedCost        PhoneType = "shared_cost"
	PhoneVoIP              PhoneType = "voip"
	PhonePersonal          PhoneType = "personal_number"
	PhonePager             PhoneType = "pager"
	PhoneUAN               PhoneType = "uan"
	PhoneVoicemail         PhoneType = "voicemail"
	PhoneUnknown           PhoneType = "unknown"
)

var phoneTypes = map[phonenumbers.PhoneNumberType]PhoneType{
	phonenumbers.FIXED_LINE:           PhoneFixedLine,
	phonenumbers.MOBILE:               PhoneMobile,
	phonenumbers.FIXED_LINE_OR_MOBILE: PhoneFixedLineOrMobile,
	phonenumbers.TOLL_FREE:            PhoneTollFree,
	phonenumbers.PREMIUM_RATE:         PhonePremiumRate,
	phonenumbers.SHARED_COST:          PhoneSharedCost,
	phonenumbers.VOIP:                 PhoneVoIP,
	phonenumbers.PERSONAL_NUMBER:      PhonePersonal,
	phonenumbers.PAGER:                PhonePager,
	phonenumbers.UAN:                  PhoneUAN,
	phonenumbers.VOICEMAIL:            PhoneVoicemail,
}

// Words returns the type as a sentence says it: "premium-rate", "UAN".
func (t PhoneType) Words() string {
	switch t {
	case PhoneUAN:
		return "UAN (universal access)"
	case PhoneVoIP:
		return "VoIP"
	case "":
		return string(PhoneUnknown)
	}
	return strings.ReplaceAll(string(t), "_", "-")
}

// Phone is a valid phone number.
type Phone struct {
	// E164 is the number as it is stored and sent: "+", the country code and
	// the national number, nothing else (+14155550100).
	E164 string
	Type PhoneType
}

// CostlyToText reports whether an SMS to the number may cost the sender more
// than an ordinary one, or what it costs cannot be told: premium-rate,
// shared-cost and UAN numbers, and numbers of unknown type. Texting such a
// number is how a leaked key turns into a phone bill (SMS pumping).
func (p Phone) CostlyToText() bool {
	switch p.Type {
	case PhonePremiumRate, PhoneSharedCost, PhoneUAN, PhoneUnknown, "":
		return true
	}
	return false
}

// PhoneError says why ParsePhone refused a string. Reason completes a
// sentence such as `"+1234" is not a valid phone number: ...`.
type PhoneError struct {
	Input  string
	Reason string
}

func (e *PhoneError) Error() string {
	return fmt.Sprintf("%q is not a valid phone number: %s", e.Input, e.Reason)
}

// maxPhoneInput is the longest string ParsePhone reads: room for the longest
// number libphonenumber knows (3 country digits and 17 national ones) with a
// separator between every two digits.
const maxPhoneInput = 48

// phoneSeparators are what may stand between the digits of a number as
// people write it.
const phoneSeparators = " -.()/"

// ParsePhone parses s, a phone number in international form, and returns it
// in E.164 with its type, or a *PhoneError saying why it is not
// one. Surrounding white space is trimmed.
//
// It accepts "+", the country code and the national number, with spaces,
// hyphens, dots, slashes and parentheses between the digits as people write
// them: "+1 (415) 555-0100" and "+44 (0)20 7946 0958" are +14155550100 and
// +442079460958. The number must be one libphonenumber's metadata knows as
// valid: a known country code, a length its country uses and a range its
// country has assigned (so +1 555 0100 is not one: 555 is no area code).
//
// It refuses a number without the leading "+", including one written with an
// international call prefix ("00", "011", "0011"): which prefix dials abroad
// depends on the caller's country, so "0011 ..." is Australia's way to dial
// +1 and nobody else's, and a national number ("415 555 0100") has no country
// at all. It also refuses letters (vanity numbers), extensions ("x12",
// ";ext=12"), "tel:" URIs and digits other than ASCII ones, which the library
// alone would take, so that a stored number always means exactly what the
// client typed.
func ParsePhone(s string) (Phone, error) {
	s = strings.TrimSpace(s)
	refuse := func(format string, args ...any) (Phone, error) {
		return Phone{}, &PhoneError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return refuse("it is empty")
	case len(s) > maxPhoneInput:
		return refuse("it is longer than %d characters", maxPhoneInput)
	case s[0] != '+':
		return refuse("it must start with + and the country code, as +14155550100")
	}
	digits := 0
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(phoneSeparators, r):
		default:
			return refuse("only digits, spaces, hyphens, dots, slashes and parentheses may follow the +, not %q", r)
		}
	}
	if digits == 0 {
		return refuse("it has no digits")
	}
	n, err := phonenumbers.Parse(s, "")
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return refuse("its country code is unknown")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return refuse("it is too long")
	case errors.Is(err, phonenumbers.ErrTooShortNSN):
		return refuse("it is too short")
	case err != nil:
		return refuse("it is not a phone number")
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.INVALID_COUNTRY_CODE:
		return refuse("its country code is unknown")
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return refuse("it is too short for its country")
	case phonenumbers.TOO_LONG:
		return refuse("it is too long for its country")
	default:
		return refuse("its country uses no numbers of this length")
	}
	// GetNumberType is UNKNOWN exactly when IsValidNumber is false: both match
	// the number against its region's patterns, so one call does for both.
	t, ok := phoneTypes[phonenumbers.GetNumberType(n)]
	if !ok {
		return refuse("its country assigns no such number")
	}
	return Phone{E164: phonenumbers.Format(n, phonenumbers.E164), Type: t}, nil
}
