package helpcrunch

import (
	"strconv"
	"time"

	"switchboard/models"
	"switchboard/store"
)

// agentJSON is HelpCrunch's agent object.
type agentJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

// chatCustomer is the customer inside a chat.
type chatCustomer struct {
	ID     int64   `json:"id"`
	Name   *string `json:"name"`
	Email  *string `json:"email"`
	UserID *string `json:"userId"`
}

// chatJSON is HelpCrunch's chat object.
type chatJSON struct {
	ID                      int64           `json:"id"`
	ClosedBy                *agentJSON      `json:"closedBy"`
	LastCustomerMessageAt   *string         `json:"lastCustomerMessageAt"`
	Status                  string          `json:"status"`
	ClosedAt                *string         `json:"closedAt"`
	Rating                  *string         `json:"rating"`
	CreatedAt               string          `json:"createdAt"`
	LastMessageAt           *string         `json:"lastMessageAt"`
	ReadByAgent             bool            `json:"readByAgent"`
	ReadByCustomer          bool            `json:"readByCustomer"`
	CreatedWith             string          `json:"createdWith"`
	SnoozedUntil            *string         `json:"snoozedUntil"`
	LastMessageText         *string         `json:"lastMessageText"`
	LastMessageID           *int64          `json:"lastMessageId"`
	ApplicationID           *int64          `json:"applicationId"`
	LastCommunicatedAgentID *int64          `json:"lastCommunicatedAgentId"`
	Agents                  []agentJSON     `json:"agents"`
	Customer                chatCustomer    `json:"customer"`
	Assignee                *agentJSON      `json:"assignee"`
	Department              *departmentJSON `json:"department"`
}

// chatList is GET /v1/chats and POST /v1/chats/search.
type chatList struct {
	Data []chatJSON `json:"data"`
	Meta listMeta   `json:"meta"`
}

type listMeta struct {
	Total int64 `json:"total"`
}

// messageJSON is HelpCrunch's message object.
type messageJSON struct {
	ID            int64      `json:"id"`
	Agent         *agentJSON `json:"agent"`
	Type          string     `json:"type"`
	Text          string     `json:"text"`
	Read          bool       `json:"read"`
	CreatedAt     string     `json:"createdAt"`
	UpdatedAt     string     `json:"updatedAt"`
	Edited        bool       `json:"edited"`
	BroadcastType *string    `json:"broadcastType"`
	Chat          int64      `json:"chat"`
	From          string     `json:"from"`
}

// messageList is GET /v1/chats/{id}/messages.
type messageList struct {
	Data  []messageJSON `json:"data"`
	Total int64         `json:"total"`
}

// customerJSON is HelpCrunch's customer object.
type customerJSON struct {
	ID        int64   `json:"id"`
	UserID    *string `json:"userId"`
	Name      *string `json:"name"`
	Email     *string `json:"email"`
	Phone     *string `json:"phone"`
	FirstSeen string  `json:"firstSeen"`
	LastSeen  string  `json:"lastSeen"`
	CreatedAt string  `json:"createdAt"`
}

// customerList is GET /v1/customers and POST /v1/customers/search.
type customerList struct {
	Data  []customerJSON `json:"data"`
	Total int64          `json:"total"`
}

// unixString is HelpCrunch's time: unix seconds as a string.
func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// unixStringPtr is unixString, or nil (null) for a missing time.
func unixStringPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := unixString(*t)
	return &s
}

// nullIfEmpty is s, or nil (null) for an empty string: HelpCrunch shows
// unknown customer attributes as null.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// agentList is GET /v1/agents.
type agentList struct {
	Data  []agentJSON `json:"data"`
	Total int64       `json:"total"`
}

func toAgents(rows []models.Agent, total int64) agentList {
	data := make([]agentJSON, len(rows))
	for i, a := range rows {
		data[i] = toAgent(a)
	}
	return agentList{Data: data, Total: total}
}

func toAgent(a models.Agent) agentJSON {
	return agentJSON{
		ID: a.ID, Name: a.FullName(), Email: a.Email, Role: string(a.Role),
	}
}

func toAgentPtr(a *models.Agent) *agentJSON {
	if a == nil {
		return nil
	}
	j := toAgent(*a)
	return &j
}

// chatStatus is HelpCrunch's name for a case's status: a new chat is "empty"
// until its first message.
func chatStatus(c models.Case) string {
	switch c.Status {
	case models.StatusNew:
		if c.LastMessageID == nil {
			return "empty"
		}
		return "new"
	case models.StatusOpen:
		return "opened"
	case models.StatusPending:
		return "pending"
	case models.StatusOnHold:
		return "on hold"
	case models.StatusClosed:
		return "closed"
	}
	return string(c.Status)
}

// lastCommunicatedAgent is the agent who wrote in the chat last, as far as a
// case view tells. Its Agents are the assignee and every agent who wrote, by
// id, so an agent there other than the assignee surely wrote: it is the last
// such agent, else the assignee, else unknown (null).
func lastCommunicatedAgent(v store.CaseView) *int64 {
	for i := len(v.Agents) - 1; i >= 0; i-- {
		if id := v.Agents[i].ID; v.AssigneeID == nil || id != *v.AssigneeID {
			return &id
		}
	}
	if v.AssigneeID != nil {
		id := *v.AssigneeID
		return &id
	}
	return nil
}

func toChat(v store.CaseView) chatJSON {
	agents := make([]agentJSON, len(v.Agents))
	for i, a := range v.Agents {
		agents[i] = toAgent(a)
	}
	var lastText *string
	if v.LastMessageID != nil {
		t := v.LastMessageText
		lastText = &t
	}
	return chatJSON{
		ID:                      v.ID,
		ClosedBy:                toAgentPtr(v.Closer),
		LastCustomerMessageAt:   unixStringPtr(v.LastCustomerMessageAt),
		Status:                  chatStatus(v.Case),
		ClosedAt:                unixStringPtr(v.ClosedAt),
		Rating:                  v.Rating,
		CreatedAt:               unixString(v.StartedAt),
		LastMessageAt:           unixStringPtr(v.LastMessageAt),
		ReadByAgent:             !v.Unread,
		CreatedWith:             "public_api",
		SnoozedUntil:            unixStringPtr(v.SnoozedUntil),
		LastMessageText:         lastText,
		LastMessageID:           v.LastMessageID,
		LastCommunicatedAgentID: lastCommunicatedAgent(v),
		Agents:                  agents,
		Customer: chatCustomer{
			ID: v.Contact.ID, Name: nullIfEmpty(v.Contact.Name), Email: nullIfEmpty(v.Contact.Email),
			UserID: nullIfEmpty(v.Contact.UserID),
		},
		Assignee:   toAgentPtr(v.Assignee),
		Department: toDepartmentPtr(v.Department),
	}
}

func toChats(views []store.CaseView, total int64) chatList {
	out := chatList{Data: make([]chatJSON, len(views)), Meta: listMeta{Total: total}}
	for i, v := range views {
		out.Data[i] = toChat(v)
	}
	return out
}

// messageType is HelpCrunch's type of a message: notes are "private",
// system messages and events "tech", emails "email".
func messageType(m models.Message) string {
	switch {
	case m.Kind == models.KindNote:
		return "private"
	case m.Kind == models.KindEvent, m.Sender == models.SenderSystem:
		return "tech"
	case m.EmailTo != "" || m.EmailFrom != "":
		return "email"
	}
	return "message"
}

func toMessage(v store.MessageView) messageJSON {
	from := "agent"
	if v.Sender == models.SenderContact {
		from = "customer"
	}
	// HelpCrunch never echoes markdownText: the marked-up text is the text.
	text := v.Text
	if v.Markdown != "" {
		text = v.Markdown
	}
	return messageJSON{
		ID: v.ID, Agent: toAgentPtr(v.Agent), Type: messageType(v.Message), Text: text, Read: v.Read,
		CreatedAt: unixString(v.CreatedAt), UpdatedAt: unixString(v.UpdatedAt), Edited: v.Edited,
		Chat: v.CaseID, From: from,
	}
}

func toMessages(views []store.MessageView, total int64) messageList {
	out := messageList{Data: make([]messageJSON, len(views)), Total: total}
	for i, v := range views {
		out.Data[i] = toMessage(v)
	}
	return out
}

func toCustomer(c models.Contact) customerJSON {
	return customerJSON{
		ID: c.ID, UserID: nullIfEmpty(c.UserID), Name: nullIfEmpty(c.Name), Email: nullIfEmpty(c.Email),
		Phone: nullIfEmpty(c.Phone), FirstSeen: unixString(c.CreatedAt), LastSeen: unixString(c.UpdatedAt),
		CreatedAt: unixString(c.CreatedAt),
	}
}

func toCustomers(rows []models.Contact, total int64) customerList {
	out := customerList{Data: make([]customerJSON, len(rows)), Total: total}
	for i, r := range rows {
		out.Data[i] = toCustomer(r)
	}
	return out
}
