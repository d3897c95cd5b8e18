package store

import (
	"context"

	"gorm.io/gorm"

	"switchboard/models"
)

// The fields an agent list filters and sorts on (ListQuery).
const (
	AgentID          = "id"
	AgentAccountID   = "account_id"
	AgentEmail       = "email"
	AgentFirstName   = "first_name"
	AgentLastName    = "last_name"
	AgentFullName    = "full_name"
	AgentRole        = "role"
	AgentDesignation = "designation"
	AgentCreatedAt   = "created_at"
)

var agentColumns = map[string]column{
	AgentID:        {"agents.id", kindInt, false},
	AgentAccountID: {"agents.account_id", kindInt, false},
	AgentEmail:     {"agents.email", kindText, false},
	AgentFirstName: {"agents.first_name", kindText, false},
	AgentLastName:  {"agents.last_name", kindText, false},
	// As models.Agent.FullName: the names joined by a space, trimmed.
	AgentFullName:    {"TRIM(agents.first_name || ' ' || agents.last_name)", kindText, false},
	AgentRole:        {"agents.role", kindText, false},
	AgentDesignation: {"agents.designation", kindText, false},
	AgentCreatedAt:   {"agents.created_at", kindTime, false},
}

// AgentList returns the page of the account's agents (enabled or not) that
// q selects, by id unless q.Sort says otherwise, and how many match q's
// filter; q.From and q.To are not used. It returns FieldErrors for q's
// problems (see ListQuery). The count is a full one: an account has few
// agents.
func (s *Store) AgentList(ctx context.Context, accountID int64, q ListQuery) ([]models.Agent, int64, error) {
	plan, err := planList(agentColumns, s.backend, q, "", "agents.id")
	if err != nil {
		return nil, 0, err
	}
	var rows []models.Agent
	var total int64
	err = s.readTx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, total, err = listPage(tx, listSource[models.Agent]{selects: agentFields, from: "agents",
			base: "agents.account_id = ?", args: []any{accountID}, scan: scanAgent}, plan, q)
		return err
	})
	if err != nil {
		return nil, 0, wrap("agent list", err)
	}
	for i := range rows {
		rows[i].CreatedAt, rows[i].UpdatedAt = rows[i].CreatedAt.UTC(), rows[i].UpdatedAt.UTC()
		if rows[i].LastLoginAt != nil {
			t := rows[i].LastLoginAt.UTC()
			rows[i].LastLoginAt = &t
		}
	}
	return rows, total, nil
}
