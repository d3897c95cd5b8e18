package store

import (
	"fmt"

	"switchboard/models"
)

// checkPhone returns s, a phone number in international form (see
// models.ParsePhone), in E.164; or, when it is not a valid number, adds a
// field error saying why and returns the parse's zero Phone.
func checkPhone(fe *FieldErrors, field, s string) models.Phone {
	p, err := models.ParsePhone(s)
	if err != nil {
		fe.AddReason(ReasonInvalid, field, s, "%v", err)
	}
	return p
}

// costlyError is the field error of an SMS to a number the account may not
// text (models.Phone.CostlyToText) without Account.SMSAllowPremium.
func costlyError(field string, p models.Phone) FieldError {
	what := "a " + p.Type.Words() + " number"
	if p.Type == models.PhoneUnknown || p.Type == "" {
		what = "a number of unknown type"
	}
	return FieldError{Field: field, Reason: ReasonInvalid, Value: p.E164, Message: fmt.Sprintf(
		"%q is %s: this account does not send SMS to premium-rate, shared-cost, UAN or unknown-type numbers",
		p.E164, what)}
}
