import Foundation
import Testing

@testable import YAML

/// The package root: the nearest directory above this source file that contains `Package.swift`.
func packageRoot(_ file: String = #filePath) -> String? {
    var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
    while directory.path != "/" {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            return directory.path
        }
        directory.deleteLastPathComponent()
    }
    return nil
}

/// A file of the repository, by its path relative to the package root.
func repositoryFile(_ path: String) throws -> String {
    let root = try #require(packageRoot(), "no Package.swift above \(#filePath)")
    return try String(contentsOfFile: root + "/" + path, encoding: .utf8)
}

/// The YAML files checked into the repository.
let repositoryYAMLFiles = [
    "boards/raspberrypi-p1.yaml", "boards/raspberrypi4-ade9000.yaml", "boards/simulator.yaml",
    "config/emeter.example.yaml", "fixtures/ade9000/calibration-errors.yaml", "fixtures/ade9000/house-3p.yaml",
    "fixtures/ade9000/solar-export.yaml",
]

/// Composes `yaml`, which must hold a node.
func node(_ yaml: String) throws -> Node {
    try #require(try compose(yaml: yaml))
}

/// The error composing `yaml` throws (fails the test when it composes).
func composeError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    do {
        _ = try compose(yaml: yaml)
        Issue.record("expected an error composing \(yaml.debugDescription)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// `line:column: problem` of the error composing `yaml`.
func errorText(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    composeError(yaml, sourceLocation: sourceLocation)?.description ?? "no error"
}

/// `line:column` of `node`.
func at(_ node: Node?) -> String { node?.mark?.description ?? "no mark" }

/// A mapping's value at a dotted path (`ade9000.spi.mode`; sequence positions as numbers).
func value(_ path: String, in root: Node) -> Node? {
    var current: Node? = root
    for component in path.split(separator: ".") {
        if let mapping = current?.mapping {
            current = mapping[String(component)]
        } else if let sequence = current?.sequence, let index = Int(component), sequence.indices.contains(index) {
            current = sequence[index]
        } else {
            return nil
        }
    }
    return current
}

/// The key node of the last path component.
func key(_ path: String, in root: Node) -> Node? {
    let components = path.split(separator: ".")
    let parent = components.count > 1 ? value(components.dropLast().joined(separator: "."), in: root) : root
    return parent?.mapping?.first { $0.key.string == components.last.map(String.init) }?.key
}
