package switchboard

import "switchboard/models"

// Catalog is what a webhook format says about its events: the names a
// subscription may ask for (`--events`, the REST route's "events") and the
// model's event types each stems from, which the store filters on. Each
// format (handlers/helpcrunch, handlers/acquire, and Standard here) has one;
// the router hands them to this package, which imports no dialect.
type Catalog interface {
	// EventNames returns the format's event names, in a fixed order.
	EventNames() []string
	// TypesOf returns the model's event types the named event stems from,
	// and false for a name the format does not have.
	TypesOf(name string) ([]models.EventType, bool)
}
