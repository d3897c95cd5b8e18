// Package inbound takes in what customers send back: email, by the built-in
// SMTP receiver or forwarded raw over HTTP, and SMS, by a provider's
// Twilio-compatible webhook. It parses MIME and the providers' forms into
// the store's words (store.InboundEmail, store.InboundSMS) and checks the
// providers' signatures; the store threads and records what arrives.
package inbound

// DefaultMaxMessageBytes is the largest email taken by default, by SMTP and
// over HTTP: 25 MB, what the large mail providers accept.
const DefaultMaxMessageBytes = 25 << 20
