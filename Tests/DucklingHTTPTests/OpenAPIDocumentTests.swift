import DucklingHTTP
import DucklingTestSupport
import Foundation
import Testing

/// `GET /openapi.json` describes exactly the routes the server registers, and the pages that
/// render it are served with the strict Content-Security-Policy.
@Suite struct OpenAPIDocumentTests {
    /// A route's path as OpenAPI writes it: `:name` → `{name}`, the catch-all `**` → `{object}`.
    static func templated(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            if part == "**" { return "{object}" }
            if part.hasPrefix(":") { return "{\(part.dropFirst())}" }
            return String(part)
        }.joined(separator: "/")
    }

    @Test func theDocumentAndTheRouterListTheSameOperationsBothWays() async throws {
        // The lake and lineage are on by default, so every controller registers its routes.
        try await TestServer.run(yaml: "databases: { default: {}, second: {} }\n") { server in
            let reply = try await server.request(.GET, "/openapi.json", key: .none)
            #expect(reply.status == 200)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(reply.text.utf8)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let methods: Set = ["get", "put", "post", "patch", "delete", "head"]
            var documented: Set<String> = []
            for (path, item) in paths {
                for method in item.keys where methods.contains(method) { documented.insert("\(method.uppercased()) \(path)") }
            }
            let routed = Set(server.services.routes.all.map { "\($0.method) \(Self.templated($0.path))" })
            #expect(routed.count > 60, "the lake or lineage routes are missing: \(routed.sorted())")
            #expect(routed.subtracting(documented).sorted() == [], "routes the document does not describe")
            #expect(documented.subtracting(routed).sorted() == [], "operations no route serves")
            // Public routes are the document's unauthenticated operations, and the other way round.
            for route in server.services.routes.all {
                let operation = paths[Self.templated(route.path)]?[route.method.lowercased()] as? [String: Any]
                let isPublic = (operation?["security"] as? [Any])?.isEmpty == true
                #expect(isPublic == (route.access == .public), "\(route.method) \(route.path): public \(route.access == .public), documented public \(isPublic)")
            }
        }
    }

    @Test func pagesCarryAStrictContentSecurityPolicyAndNoInlineCode() async throws {
        try await TestServer.run { server in
            for path in ["/", "/docs", "/assets/dashboard.js", "/assets/dashboard.css", "/assets/docs.js"] {
                let reply = try await server.request(.GET, path, key: .none)
                #expect(reply.status == 200, "\(path)")
                let policy = reply.headers["Content-Security-Policy"].first ?? ""
                #expect(policy.contains("script-src 'self'") && policy.contains("default-src 'none'") && !policy.contains("unsafe"), "\(path): \(policy)")
                #expect(reply.headers["X-Content-Type-Options"].first == "nosniff")
            }
            for page in ["/", "/docs"] {
                let html = try await server.request(.GET, page, key: .none).text
                // Every script is a file of this server; no inline script, handler or style.
                let scripts = html.components(separatedBy: "<script").dropFirst()
                #expect(!scripts.isEmpty && scripts.allSatisfy { $0.hasPrefix(" src=\"/assets/") }, "\(page)")
                #expect(!html.contains(" style=") && !html.contains("<style") && !html.contains(" onclick") && !html.contains("javascript:"), "\(page)")
                #expect(!html.contains("http://") && !html.contains("https://"), "\(page) names another site")
            }
            #expect(try await server.request(.GET, "/assets/openapi.json", key: .none).status == 404)
            #expect(try await server.request(.GET, "/assets/index.html", key: .none).status == 404)
            #expect(try await server.request(.GET, "/assets/..%2Fopenapi.json", key: .none).status == 404)
        }
    }
}
