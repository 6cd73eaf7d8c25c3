import Testing
@testable import mesh_node
