package handlers

import (
	"switchboard/handlers/switchboard"
	"switchboard/models"
)

// WebhookCatalogs returns each webhook format's catalog of event names.
//
// Placeholder, replaced by h2-webhooks: a few HelpCrunch and Acquire names
// mapped to the model's types, and for standard the model's own type names.
func WebhookCatalogs() map[models.WebhookFormat]switchboard.Catalog {
	std := mapCatalog{types: map[string][]models.EventType{}}
	for _, t := range models.EventTypes() {
		std.names = append(std.names, string(t))
		std.types[string(t)] = []models.EventType{t}
	}
	return map[models.WebhookFormat]switchboard.Catalog{
		models.FormatStandard: std,
		models.FormatHelpCrunch: mapCatalog{
			names: []string{"chat.new", "chat.status_updated", "chat.closed", "message.chat.customer", "customer.new"},
			types: map[string][]models.EventType{
				"chat.new":              {models.EventCaseCreated},
				"chat.status_updated":   {models.EventCaseStatusChanged},
				"chat.closed":           {models.EventCaseClosed},
				"message.chat.customer": {models.EventMessageCreated},
				"customer.new":          {models.EventContactCreated},
			},
		},
		models.FormatAcquire: mapCatalog{
			names: []string{"case_created", "message_created"},
			types: map[string][]models.EventType{
				"case_created":    {models.EventCaseCreated},
				"message_created": {models.EventMessageCreated},
			},
		},
	}
}

// mapCatalog is a catalog from a fixed table.
type mapCatalog struct {
	names []string
	types map[string][]models.EventType
}

func (c mapCatalog) EventNames() []string { return c.names }

func (c mapCatalog) TypesOf(name string) ([]models.EventType, bool) {
	t, ok := c.types[name]
	return t, ok
}
