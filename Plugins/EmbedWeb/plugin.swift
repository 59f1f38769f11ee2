import Foundation
import PackagePlugin

/// Embeds the files of the repository's `web/` directory (the dashboard, the API page and the
/// OpenAPI document) in the target that uses it, as generated Swift source (`WebAssets`), so the
/// binary serves them with nothing beside it.
@main
struct EmbedWeb: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let web = context.package.directoryURL.appending(path: "web")
        let names = try FileManager.default.contentsOfDirectory(atPath: web.path)
            .filter { !$0.hasPrefix(".") }
            .sorted()
        let files = names.map { web.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "WebAssets.swift")
        return [
            .buildCommand(
                displayName: "Embedding web/ (\(names.count) files)",
                executable: try context.tool(named: "WebEmbedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output])
        ]
    }
}
