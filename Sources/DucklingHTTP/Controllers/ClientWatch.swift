import DuckDBKit
import NIOCore

/// Stops a query when its client goes away, so work nobody waits for any more is interrupted (and
/// its connection freed) at once. Costs two locked dictionary updates per request.
struct ClientWatch: Sendable {
    private let watcher: ClientCloseWatcher?
    private let token: UInt64?

    /// Fires `interrupter` if the client of `channel` leaves before ``end()``.
    init(_ interrupter: Interrupter, channel: any Channel) {
        // buildApplication installs a watcher on every connection; without one (a server built
        // some other way) the query still ends at its time limit.
        watcher = ClientCloseWatcher.watcher(for: channel)
        token = watcher?.onClose { interrupter.interrupt(.cancelled) }
    }

    func end() {
        watcher?.remove(token)
    }
}
