using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class KMeansTests
{
    [Fact]
    public void Train_OnSeparatedBlobs_PutsOneCentroidInEachBlob()
    {
        const int dim = 4;
        var rng = new Random(5);
        var centres = new float[][] { [10, 0, 0, 0], [-10, 0, 0, 0], [0, 10, 0, 0], [0, -10, 0, 0] };
        var data = new float[400 * dim];
        for (var i = 0; i < 400; i++)
        {
            for (var d = 0; d < dim; d++)
            {
                data[(i * dim) + d] = centres[i % 4][d] + (float)(rng.NextDouble() - 0.5);
            }
        }

        var trained = KMeans.Train(data, 400, dim, 4, 20, seed: 1, threads: 2, default);
        var labels = new int[4];
        KMeans.Assign(IvfBuild.View(centres.SelectMany(c => c).ToArray(), dim), trained, 4, innerProduct: false, labels, 1, default);
        Assert.Equal(4, labels.Distinct().Count());
    }

    [Fact]
    public void Train_WithMoreCentroidsThanDistinctRows_LeavesNoCentroidUnfilled()
    {
        const int dim = 2;
        var data = new float[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 5, 5 };
        var trained = KMeans.Train(data, 6, dim, 5, 10, seed: 2, threads: 1, default);
        Assert.All(trained, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(10, trained.Length);
    }

    [Fact]
    public void Assign_ByInnerProduct_PicksTheLargestDot()
    {
        var centroids = new float[] { 1, 0, 0, 3 };
        var labels = new int[2];
        KMeans.Assign(IvfBuild.View([2, 0, 0, 1], 2), centroids, 2, innerProduct: true, labels, 1, default);
        Assert.Equal([0, 1], labels);
    }
}
