package helpcrunch

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/keyauth"
	"switchboard/models"
)

// departmentJSON is HelpCrunch's department object, as GET /v1/departments
// lists it and as a chat's department shows it.
type departmentJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// departmentList is GET /v1/departments: {data, total}, as GET /v1/agents
// and GET /v1/customers list theirs.
type departmentList struct {
	Data  []departmentJSON `json:"data"`
	Total int64            `json:"total"`
}

func toDepartment(d models.Department) departmentJSON {
	return departmentJSON{ID: d.ID, Name: d.Name}
}

// toDepartmentPtr is toDepartment, or nil (null) for a case in no
// department.
func toDepartmentPtr(d *models.Department) *departmentJSON {
	if d == nil {
		return nil
	}
	j := toDepartment(*d)
	return &j
}

func toDepartments(rows []models.Department, total int64) departmentList {
	out := departmentList{Data: make([]departmentJSON, len(rows)), Total: total}
	for i, d := range rows {
		out.Data[i] = toDepartment(d)
	}
	return out
}

// listDepartments is GET /v1/departments: a page of the account's
// departments by id, as {data, total}, paged by offset and limit as GET
// /v1/agents is. Errors: 400 naming each bad offset or limit, and each
// parameter that asks for a filter or a sort (the list has neither).
func (a *api) listDepartments(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	var p problems
	offset, limit := readPage(queryValue(c, "offset"), queryValue(c, "limit"), &p)
	refuseFilters(c, &p, []string{"offset", "limit"}, isDepartmentField)
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := a.store.DepartmentPage(c.Request().Context(), cl.AccountID, offset, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDepartments(rows, total))
}

// isDepartmentField reports whether name is a field of a department a
// client could filter by.
func isDepartmentField(name string) bool {
	return name == "id" || name == "name"
}
