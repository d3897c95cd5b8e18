package acquire_test

import (
	"fmt"
	"strings"

	"switchboard/models"
	"switchboard/store"
)

// The expected JSON of Acquire's objects, spelled out key by key after the
// vendor's example so that a missing, extra or renamed key fails the test.

func wantUser(a models.Agent) string {
	return fmt.Sprintf(`{"roles":[],"id":%d,"name":%s,"firstName":%s,"lastName":%s,"photo":"","email":%s,
		"clientId":"","parentId":0,"type":"user","accessLevel":null}`,
		a.ID, jsonString(a.FirstName+" "+a.LastName), jsonString(a.FirstName), jsonString(a.LastName), jsonString(a.Email))
}

func wantContactName(c models.Contact) string {
	if c.Name == "" {
		return fmt.Sprintf("#%d", c.ID)
	}
	return c.Name
}

func wantContactUser(c models.Contact) string {
	return fmt.Sprintf(`{"type":"contact","id":%d,"name":%s,"photo":null}`, c.ID, jsonString(wantContactName(c)))
}

func wantContact(c models.Contact) string {
	return fmt.Sprintf(`{"dateCreated":%q,"dateUpdated":%q,"id":%d,"clientType":"web","clientName":null,
		"clientVersion":null,"clientOsName":null,"clientOsVersion":null,"clientDeviceType":null,
		"clientDeviceVendor":null,"clientDeviceModel":null,"clientDetails":null,
		"fields":{"name":%s,"email":%s,"phone":%s},"meta":{},"archive":"no","companyId":null}`,
		iso(c.CreatedAt), iso(c.UpdatedAt), c.ID, jsonString(c.Name), jsonString(c.Email), jsonString(c.Phone))
}

// wantCaseFields is the case object without its closing brace, so that
// GET .../chat/messages can add "messages".
func wantCaseFields(v store.CaseView) string {
	c := v.Case
	started := iso(c.StartedAt)
	status, closingState, closed := "active", "null", "no"
	if c.Status == models.StatusClosed {
		status, closed = "closed", "yes"
		if c.ClosedBy != nil {
			closingState = `"handled"`
		}
	}
	var users []string
	for _, a := range v.Agents {
		users = append(users, fmt.Sprintf(`{"id":%d,"caseId":%d,"type":"user","userId":%d,"role":"owner","status":"active",
			"dateCreated":%q,"dateLastAssigned":%q,"closed":%q,"meta":null,"user":%s}`,
			a.ID, c.ID, a.ID, started, started, closed, wantUser(a)))
	}
	users = append(users, fmt.Sprintf(`{"id":%d,"caseId":%d,"type":"contact","userId":%d,"role":"owner","status":"active",
		"dateCreated":%q,"dateLastAssigned":%q,"closed":%q,"meta":null,"user":%s}`,
		v.Contact.ID, c.ID, v.Contact.ID, started, started, closed, wantContactUser(v.Contact)))
	return fmt.Sprintf(`{"dateCreated":%q,"dateUpdated":%q,"id":%d,"contactId":%d,"closedBy":%s,"visitId":%s,
		"title":%s,"description":"","channel":%q,"status":%q,"closingState":%s,"dateQueue":%q,"datePending":%q,
		"dateActive":%q,"dateClosed":%s,"queueId":null,"queueOrder":null,"meta":{},"parentId":null,"userId":%s,
		"waitTime":0,"contact":%s,"users":[%s],"threadId":%d`,
		started, iso(c.UpdatedAt), c.ID, c.ContactID, intOrNull(c.ClosedBy), intOrNull(c.VisitorSessionID),
		jsonString(c.Subject), c.Channel, status, closingState, started, started, started, isoOrNull(c.ClosedAt),
		intOrNull(c.AssigneeID), wantContact(v.Contact), strings.Join(users, ","), c.ID)
}

func wantCase(v store.CaseView) string { return wantCaseFields(v) + "}" }

// wantMessage is a message object as GET .../chat/messages lists it; with a
// case (caseJSON not empty) it is the add-message response's data.
func wantMessage(m store.MessageView, v store.CaseView, caseJSON string) string {
	senderType, senderID, sender := "system", "null", "null"
	switch m.Sender {
	case models.SenderAgent:
		senderType, senderID, sender = "user", intOrNull(m.AgentID), wantUser(*m.Agent)
	case models.SenderContact:
		senderType, senderID, sender = "contact", fmt.Sprint(v.Contact.ID), wantContactUser(v.Contact)
	}
	seen := "no"
	if m.Read {
		seen = "yes"
	}
	withCase := ""
	if caseJSON != "" {
		withCase = `"case":` + caseJSON + ","
	}
	return fmt.Sprintf(`{"channel":"chat","senderType":%q,"senderId":%s,"type":%q,"seen":%q,"message":%s,"meta":{},
		"dateCreated":%q,%s"sender":%s,"dateUpdated":null,"id":%d,"caseId":%d,"threadId":%d,"contactId":%d}`,
		senderType, senderID, m.Kind, seen, jsonString(m.Text), iso(m.CreatedAt), withCase, sender,
		m.ID, m.CaseID, m.CaseID, v.ContactID)
}
