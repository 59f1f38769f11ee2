import DucklingTestSupport
import Foundation
import Testing

@Suite struct AuthTests {
    @Test func queriesNeedAValidBearerKey() async throws {
        try await TestServer.run { server in
            let missing = try await server.query("SELECT 42 AS answer", key: .none)
            #expect(missing.status == 401)
            #expect(missing.errorCode == "unauthorized")
            #expect(missing.headers["WWW-Authenticate"].first == "Bearer")
            #expect(try await server.query("SELECT 42 AS answer", key: .custom("wrong")).status == 401)
            #expect(try await server.query("SELECT 42 AS answer", key: .custom(server.adminKey + "x")).status == 401)
            #expect(try await server.query("SELECT 42 AS answer", key: .custom(String(server.adminKey.dropLast()))).status == 401)
        }
    }

    @Test func theAdminKeyGetsTheRowWithItsNameAndType() async throws {
        try await TestServer.run { server in
            let reply = try await server.query("SELECT 42 AS answer")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first == "application/json")
            let json = try reply.json
            #expect(json["success"] as? Bool == true)
            #expect(json["columns"] as? [[String: String]] == [["name": "answer", "type": "INTEGER"]])
            #expect((json["rows"] as? [[Int]]) == [[42]])
            #expect(json["row_count"] as? Int == 1)
        }
    }

    @Test func aReadOnlyKeyMayQuery() async throws {
        try await TestServer.run { server in
            let reply = try await server.query("SELECT 42 AS answer", key: .readOnly)
            #expect(reply.status == 200)
            #expect((try reply.json["rows"] as? [[Int]]) == [[42]])
        }
    }

    @Test func keysInTheQueryStringAreRefused() async throws {
        try await TestServer.run { server in
            for parameter in ["api_key", "token", "key"] {
                let reply = try await server.request(
                    .POST, "/api/query?\(parameter)=\(server.adminKey)", key: .none, body: #"{"sql":"SELECT 1"}"#)
                #expect(reply.status == 401)
                #expect(reply.text.contains("query string"))
                // Even alongside a valid header: a key in the URL is a mistake to stop, not to ignore.
                let both = try await server.request(.POST, "/api/query?\(parameter)=x", body: #"{"sql":"SELECT 1"}"#)
                #expect(both.status == 401)
            }
        }
    }

    @Test func aDatabaseKeyReachesOnlyItsDatabase() async throws {
        let yaml = """
            databases:
              lms:
                api_keys: ["lms-only-key"]
            """
        try await TestServer.run(yaml: yaml) { server in
            #expect(try await server.query("SELECT 1", db: "lms", key: .custom("lms-only-key")).status == 200)
            let other = try await server.query("SELECT 1", db: "default", key: .custom("lms-only-key"))
            #expect(other.status == 403)
            #expect(other.errorCode == "forbidden")
        }
    }

    @Test func metricsNeedAKeyToo() async throws {
        try await TestServer.run { server in
            let anonymous = try await server.request(.GET, "/metrics", key: .none)
            let admin = try await server.request(.GET, "/metrics")
            #expect(anonymous.status == 401)
            #expect(admin.status == 200)
        }
    }
}
