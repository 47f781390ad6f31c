// WordProblems.cs: the generator of two-step word problems (seven templates: packs, giving away, sharing, boxes,
// savings, chairs, change), every step an equation; the level scales the amounts tenfold per level (1–3). Not here: the split (ProblemGenerator.cs). Tested by ProblemGeneratorTests and ReasoningCorpusTests.
using SharpSeek.Training.Data;
using static SharpSeek.Training.Tasks.ProblemText;

namespace SharpSeek.Training.Tasks;

internal static class WordProblems
{
    private static readonly string[] Names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kofi", "Lena", "Maya", "Noor", "Omar", "Priya", "Ravi", "Sam", "Tara", "Yuki"];
    private static readonly string[] Items = ["apples", "marbles", "stickers", "books", "shells", "cards", "pencils", "coins", "stamps", "cookies"];
    private static readonly string[] Things = ["bike", "game", "jacket", "lamp", "kite", "radio"];

    /// <summary>The key is the template and its numbers: the names and items are dressing, not a new problem.</summary>
    public static WorkedProblem Generate(ref SplitMix64 rng, int level)
    {
        // Amounts (not counts of packs, weeks or friends) grow tenfold per level.
        var s = level switch { 1 => 1, 2 => 10, _ => 100 };
        var name = rng.Pick(Names);
        var items = rng.Pick(Items);
        var template = rng.Next(7);
        switch (template)
        {
            case 0:
                {
                    int a = rng.Next(3, 60 * s), packs = rng.Next(2, 9), each = rng.Next(3, 25 * s);
                    var inPacks = packs * each;
                    return Make(level, template, [a, packs, each], $"{name} has {N(a)} {items}. {name} buys {N(packs)} packs with {N(each)} {items} in each. How many {items} does {name} have now?",
                        $"The packs hold {N(packs)} * {N(each)} = {N(inPacks)} {items}.\nTogether: {N(a)} + {N(inPacks)} = {N(a + inPacks)}.", a + inPacks);
                }
            case 1:
                {
                    int a = rng.Next(20, 200 * s), gave = rng.Next(2, a - 1), found = rng.Next(2, 60 * s);
                    var friend = rng.Pick(Names);
                    var left = a - gave;
                    return Make(level, template, [a, gave, found], $"{name} had {N(a)} {items}, gave {N(gave)} to {friend}, and then found {N(found)} more. How many {items} does {name} have now?",
                        $"After giving some away: {N(a)} - {N(gave)} = {N(left)}.\nAfter finding more: {N(left)} + {N(found)} = {N(left + found)}.", left + found);
                }
            case 2:
                {
                    int friends = rng.Next(2, 12), each = rng.Next(2, 40 * s);
                    var total = friends * each;
                    return Make(level, template, [friends, each], $"{N(friends)} friends share {N(total)} {items} equally. How many {items} does each friend get?",
                        $"Divide the {items} among the friends: {N(total)} / {N(friends)} = {N(each)}.\nCheck: {N(each)} * {N(friends)} = {N(total)}.", each);
                }
            case 3:
                {
                    int perBox = rng.Next(4, 60 * s), boxes = rng.Next(3, 30), extra = rng.Next(1, perBox - 1);
                    var full = perBox * boxes;
                    return Make(level, template, [perBox, boxes, extra], $"A box holds {N(perBox)} {items}. {name} fills {N(boxes)} boxes and has {N(extra)} {items} left over. How many {items} did {name} start with?",
                        $"The full boxes hold {N(boxes)} * {N(perBox)} = {N(full)}.\nWith the leftovers: {N(full)} + {N(extra)} = {N(full + extra)}.", full + extra);
                }
            case 4:
                {
                    int weekly = rng.Next(3, 50 * s), weeks = rng.Next(2, 20);
                    var saved = weekly * weeks;
                    var spent = rng.Next(1, saved - 1);
                    return Make(level, template, [weekly, weeks, spent], $"{name} saves {N(weekly)} dollars every week for {N(weeks)} weeks and then spends {N(spent)} dollars on a {rng.Pick(Things)}. How many dollars are left?",
                        $"Saved: {N(weekly)} * {N(weeks)} = {N(saved)}.\nLeft after spending: {N(saved)} - {N(spent)} = {N(saved - spent)}.", saved - spent);
                }
            case 5:
                {
                    int rows = rng.Next(3, 30), perRow = rng.Next(4, 25 * s), added = rng.Next(2, 40 * s);
                    var seats = rows * perRow;
                    return Make(level, template, [rows, perRow, added], $"A hall has {N(rows)} rows of {N(perRow)} chairs, and {N(added)} more chairs are brought in. How many chairs are there in total?",
                        $"Chairs in rows: {N(rows)} * {N(perRow)} = {N(seats)}.\nAdding the extra chairs: {N(seats)} + {N(added)} = {N(seats + added)}.", seats + added);
                }
            default:
                {
                    int price = rng.Next(2, 30 * s), count = rng.Next(2, 12);
                    var cost = price * count;
                    var paid = ((cost / 10) + 1 + rng.Next(5)) * 10;
                    return Make(level, template, [price, count, paid], $"A notebook costs {N(price)} dollars. {name} buys {N(count)} notebooks and pays with {N(paid)} dollars. How much change does {name} get?",
                        $"Cost: {N(count)} * {N(price)} = {N(cost)}.\nChange: {N(paid)} - {N(cost)} = {N(paid - cost)}.", paid - cost);
                }
        }
    }

    private static WorkedProblem Make(int level, int template, int[] numbers, string question, string solution, long answer) =>
        new(TaskFamily.Word, level, $"word{N(template)} {string.Join(',', numbers.Select(v => N(v)))}", question, solution, N(answer));
}
