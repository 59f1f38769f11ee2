import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard (`GET /`), the API page (`GET /docs`), the OpenAPI document (`GET /openapi.json`)
/// and their scripts and styles (`GET /assets/{file}`): files of web/ embedded at build time
/// (``WebAssets``), public, since they carry no data; the page signs in with a key it keeps in
/// the tab's memory and sends as a header.
///
/// Every page is served with a Content-Security-Policy that allows this origin's scripts, styles
/// and requests only: no inline script or style, no other site's resources, no framing.
struct WebController {
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let csp = HTTPField.Name("Content-Security-Policy")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!

    /// The files served under /assets/, by extension, with their content types.
    static let assetTypes = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"]

    func addRoutes(to routes: RouteTable) {
        let open = routes.group("", .public, scope: .server)
        open.get("/") { _, _ in try Self.file("index.html", type: "text/html; charset=utf-8") }
        open.get("/docs") { _, _ in try Self.file("docs.html", type: "text/html; charset=utf-8") }
        open.get("/openapi.json") { _, _ in try Self.file("openapi.json", type: "application/json") }
        open.get("/assets/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let dot = name.lastIndex(of: "."), let type = Self.assetTypes[String(name[name.index(after: dot)...])] else {
                throw APIError.notFound("not_found", "no asset named '\(name)'")
            }
            return try Self.file(name, type: type)
        }
    }

    static func file(_ name: String, type: String) throws -> Response {
        guard let text = WebAssets.files[name] else { throw APIError.notFound("not_found", "no asset named '\(name)'") }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache", Self.csp: contentSecurityPolicy,
                Self.contentTypeOptions: "nosniff", Self.referrerPolicy: "no-referrer", Self.frameOptions: "DENY",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
