package console

// RouteAccess is who may use a route, as the tests name it: "public",
// "agents", "admins" or "superadmins".
type RouteAccess string

// Route is one of the console's routes, for the tests.
type Route struct {
	Method, Path string
	Access       RouteAccess
}

// Routes returns every route Register adds, in order.
func Routes() []Route {
	names := map[access]RouteAccess{public: "public", agents: "agents", admins: "admins", superadmins: "superadmins"}
	var out []Route
	for _, r := range routes() {
		out = append(out, Route{Method: r.method, Path: r.path, Access: names[r.access]})
	}
	return out
}
