// Package inbound takes in what customers send back: email, by the built-in
// SMTP receiver or forwarded raw over HTTP, and SMS, by a provider's
// Twilio-compatible webhook. It parses MIME and the providers' forms into
// the store's words (store.InboundEmail, store.InboundSMS) and checks the
// providers' signatures; the store threads and records what arrives.
package inbound
