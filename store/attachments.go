package store

import (
	"fmt"
	"mime"
	"strings"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// NewAttachment is a file to send with an email (NewEmail.Attachments).
type NewAttachment struct {
	// Name is the file name the recipient sees: one line, at most
	// models.MaxAttachmentNameBytes bytes, without a path separator.
	Name string
	// ContentType is a MIME type such as application/pdf; empty means
	// application/octet-stream.
	ContentType string
	Content     []byte
	// SourceURL is where the content was fetched from, "" when the client
	// sent the content itself. It is kept to show, never fetched again.
	SourceURL string
}

// checkAttachments records the bad fields of as in fe, named
// attachments[i].name and attachments[i].content_type, and returns as with
// each empty content type set to application/octet-stream.
func checkAttachments(fe *FieldErrors, as []NewAttachment) []NewAttachment {
	if len(as) > models.MaxAttachments {
		fe.AddReason(ReasonTooMany, "attachments", len(as), "at most %d attachments, not %d", models.MaxAttachments, len(as))
	}
	out := make([]NewAttachment, len(as))
	for i, a := range as {
		field := fmt.Sprintf("attachments[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			fe.AddReason(ReasonRequired, field+".name", nil, "must not be empty")
		} else {
			checkText(fe, field+".name", a.Name)
			checkControl(fe, field+".name", a.Name)
			if len(a.Name) > models.MaxAttachmentNameBytes {
				fe.AddReason(ReasonTooLong, field+".name", nil, "must be at most %d bytes, not %d", models.MaxAttachmentNameBytes, len(a.Name))
			}
			if strings.ContainsAny(a.Name, `/\`) {
				fe.AddReason(ReasonInvalid, field+".name", a.Name, "must be a file name, not a path")
			}
		}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		} else if !ValidContentType(a.ContentType) {
			fe.AddReason(ReasonInvalid, field+".content_type", a.ContentType, "%q is not a MIME type such as application/pdf", a.ContentType)
		}
		checkLine(fe, field+".source_url", a.SourceURL, 2048)
		out[i] = a
	}
	return out
}

// ValidContentType reports whether s is a MIME media type with its
// parameters (text/plain; charset=utf-8) and nothing that could break the
// header it goes into.
func ValidContentType(s string) bool {
	if s == "" || len(s) > 255 || models.HasControl(s) {
		return false
	}
	t, _, err := mime.ParseMediaType(s)
	return err == nil && strings.Count(t, "/") == 1 && !strings.HasPrefix(t, "/") && !strings.HasSuffix(t, "/")
}

// insertAttachments writes the attachments of the message m.
func insertAttachments(tx *gorm.DB, m models.Message, as []NewAttachment, now time.Time) ([]models.Attachment, error) {
	if len(as) == 0 {
		return nil, nil
	}
	rows := make([]models.Attachment, len(as))
	for i, a := range as {
		content := a.Content
		if content == nil {
			content = []byte{}
		}
		rows[i] = models.Attachment{
			AccountID: m.AccountID, MessageID: m.ID, Name: a.Name, ContentType: a.ContentType,
			Size: int64(len(content)), Content: content, SourceURL: a.SourceURL, CreatedAt: now,
		}
	}
	// One row at a time: a multi-row insert of several large files would
	// be one statement of their combined size.
	for i := range rows {
		if err := tx.Create(&rows[i]).Error; err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// attachmentsOf returns the attachments of the messages, oldest first,
// grouped by message; with content false their Content is left nil.
func attachmentsOf(tx *gorm.DB, messageIDs []int64, content bool) (map[int64][]models.Attachment, error) {
	out := map[int64][]models.Attachment{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	q := tx.Where("message_id IN ?", messageIDs).Order("message_id, id")
	if !content {
		q = q.Omit("content")
	}
	var rows []models.Attachment
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, a := range rows {
		out[a.MessageID] = append(out[a.MessageID], a)
	}
	return out, nil
}
