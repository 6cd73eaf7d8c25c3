import MaculaMemory
import Testing

@Suite("MemoryBudget", .timeLimit(.minutes(3)))
struct MemoryBudgetTests {
    @Test("the effective limit is max(1, floor(base x scale)), exactly")
    func effectiveLimit() throws {
        var budget = try MemoryBudget(baseLimit: 1_000)
        #expect(budget.effectiveLimit == 1_000)
        budget.setPressureScale(0.9)
        #expect(budget.effectiveLimit == 900)
        budget.setPressureScale(0.8)
        #expect(budget.effectiveLimit == 800)
        try budget.setBaseLimit(100)
        budget.setPressureScale(0.29)
        // 0.29 * 100 is 28.999999999999996 in floating point; the budget says 29.
        #expect(budget.effectiveLimit == 29)
        try budget.setBaseLimit(3)
        budget.setPressureScale(0.1)
        #expect(budget.effectiveLimit == 1)
        budget.setPressureScale(1)
        #expect(budget.effectiveLimit == 3)
    }

    @Test("scales outside (0, 1] are clamped")
    func clampedScales() throws {
        var budget = try MemoryBudget(baseLimit: 10)
        budget.setPressureScale(2)
        #expect(budget.pressureScale == 1)
        #expect(budget.effectiveLimit == 10)
        budget.setPressureScale(-1)
        #expect(budget.effectiveLimit == 1)
        budget.setPressureScale(.nan)
        #expect(budget.effectiveLimit == 10)
    }

    @Test("a huge base limit does not overflow")
    func hugeBase() throws {
        var budget = try MemoryBudget(baseLimit: .max)
        budget.setPressureScale(0.5)
        #expect(budget.effectiveLimit > Int.max / 4)
    }

    @Test("a base limit below 1 throws and names the field", arguments: [0, -5])
    func invalidBase(limit: Int) throws {
        #expect(throws: ConfigurationError(field: "maximumClients", rule: "must be at least 1", value: "\(limit)")) {
            _ = try MemoryBudget(baseLimit: limit, field: "maximumClients")
        }
        var budget = try MemoryBudget(baseLimit: 5)
        #expect(throws: ConfigurationError.self) { try budget.setBaseLimit(limit) }
        #expect(budget.baseLimit == 5)
    }

    @Test("the high-water mark keeps the largest size")
    func highWater() throws {
        var budget = try MemoryBudget(baseLimit: 10)
        budget.recordSize(4)
        budget.recordSize(7)
        budget.recordSize(2)
        #expect(budget.highWaterMark == 7)
        #expect(budget.usage(size: 2) == MemoryUsage(size: 2, effectiveLimit: 10, baseLimit: 10, pressureScale: 1, highWaterMark: 7))
    }
}
